"""A bounded on-disk queue of gzipped batches, drained oldest first.

Every batch is written here before it is pushed, so an agent restart or a
server outage loses nothing; a batch is deleted as soon as the server has
acknowledged it, so nothing acknowledged is sent again. Bounded by size and
age: past either bound the oldest batches are dropped, and counted.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("rightsizer.agent.spool")


class Spool:
    def __init__(self, directory: Path, max_bytes: int = 200 * 1024**2, max_age_s: float = 7 * 86400,
                 clock=time.time) -> None:  # fmt: skip
        self.dir = Path(directory)
        self.rejected_dir = self.dir / "rejected"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.max_age_s, self.clock = max_bytes, max_age_s, clock
        self._stats_path = self.dir / "stats.json"
        self._seq = max((self._seq_of(p) for p in self.pending()), default=0)
        for tmp in self.dir.glob("*.tmp"):  # half-written by a crash: never acknowledged, never complete
            tmp.unlink()

    @staticmethod
    def _seq_of(path: Path) -> int:
        return int(path.name.split("-", 1)[0])

    def pending(self) -> list[Path]:
        """Spooled batches, oldest first."""
        return sorted(self.dir.glob("*.json.gz"), key=self._seq_of)

    def put(self, gz_body: bytes) -> Path:
        self._seq += 1
        path = self.dir / f"{self._seq:012d}-{int(self.clock())}.json.gz"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(gz_body)
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(path)  # atomic: a reader sees the whole batch or none of it
        self.enforce_bounds()
        return path

    def ack(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> None:
        """Set aside a batch the server refused for good (kept for a person to look at)."""
        self.rejected_dir.mkdir(exist_ok=True)
        try:
            path.rename(self.rejected_dir / path.name)
        except FileNotFoundError:  # dropped by the bounds meanwhile
            return
        (self.rejected_dir / (path.name + ".reason.txt")).write_text(reason)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.pending())

    def dropped(self) -> int:
        try:
            return int(json.loads(self._stats_path.read_text())["dropped"])
        except (OSError, ValueError, KeyError):
            return 0

    def enforce_bounds(self) -> int:
        batches = self.pending()
        sizes = {p: p.stat().st_size for p in batches}
        total, now, dropped = sum(sizes.values()), self.clock(), 0
        for path in batches[:-1]:  # the newest batch is always kept
            written_at = int(path.name.split("-", 1)[1].split(".", 1)[0])
            if total <= self.max_bytes and now - written_at <= self.max_age_s:
                break
            path.unlink(missing_ok=True)
            total -= sizes[path]
            dropped += 1
        if dropped:
            count = self.dropped() + dropped
            self._stats_path.write_text(json.dumps({"dropped": count}))
            log.warning("event=spool_dropped batches=%d total_dropped=%d reason=bounds", dropped, count)
        return dropped
