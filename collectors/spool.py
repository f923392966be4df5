"""A bounded on-disk queue of gzipped batches, drained oldest first.

Every batch is written here before it is pushed, so an agent restart or a
server outage loses nothing; a batch is deleted as soon as the server has
acknowledged it, so nothing acknowledged is sent again. Bounded by size and
age: past either bound the oldest batches are dropped, and counted.

A spool that cannot be written never stops the agent. A full disk (ENOSPC)
drops the oldest batches to make room and tries once more; a read-only disk
(EROFS), a retry that still fails, or any other OSError keeps the batch in
memory (bounded), where it is pushed like the others. A failed write leaves no
`.tmp` behind. Each is one log line and a counter in `stats.json`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

log = logging.getLogger("rightsizer.agent.spool")

# Batches kept in memory while the spool cannot be written; the agent's target is 60 MB RSS in all.
MAX_HELD_BYTES = 16 * 1024**2
STATS = ("dropped", "dropped_disk_full", "dropped_memory", "failed", "write_errors")


class Spool:
    def __init__(self, directory: Path, max_bytes: int = 200 * 1024**2, max_age_s: float = 7 * 86400,
                 clock=time.time, max_held_bytes: int = MAX_HELD_BYTES) -> None:  # fmt: skip
        self.dir = Path(directory)
        self.rejected_dir, self.failed_dir = self.dir / "rejected", self.dir / "failed"
        self.max_bytes, self.max_age_s, self.clock = max_bytes, max_age_s, clock
        self.max_held_bytes = max_held_bytes
        self._lock = threading.RLock()  # the sampling thread puts, the push thread acks
        self._held: dict[str, bytes] = {}  # name → batch, oldest first: not written (disk full, read-only)
        self._held_bytes = 0
        self._gone: set[str] = set()  # acknowledged or set aside, but the file could not be deleted
        self._unwritable = False
        self._stats_path = self.dir / "stats.json"
        self.stats = read_stats(self.dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._write_failed("mkdir", exc)
        self._seq = max((self._seq_of(p) for p in self.pending()), default=0)
        for tmp in self.dir.glob("*.tmp"):  # half-written by a crash: never acknowledged, never complete
            with suppress(OSError):
                tmp.unlink()

    @staticmethod
    def _seq_of(path: Path) -> int:
        return int(path.name.split("-", 1)[0])

    def pending(self) -> list[Path]:
        """Spooled batches, oldest first (those held in memory have a path that does not exist)."""
        with self._lock:
            held, gone = [self.dir / name for name in self._held], set(self._gone)
        on_disk = [p for p in self.dir.glob("*.json.gz") if p.name not in gone]
        return sorted(on_disk + held, key=self._seq_of)

    def held(self) -> int:
        """Batches in memory because the spool could not be written."""
        return len(self._held)

    def read(self, path: Path) -> bytes | None:
        """A pending batch's body; None if it was dropped meanwhile."""
        with self._lock:
            body = self._held.get(path.name)
        if body is not None:
            return body
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def put(self, gz_body: bytes) -> Path:
        with self._lock:
            self._seq += 1
            path = self.dir / f"{self._seq:012d}-{int(self.clock())}.json.gz"
        error = _write_atomic(path, gz_body)
        if error is not None and error.errno == errno.ENOSPC and self._make_room(len(gz_body)):
            error = _write_atomic(path, gz_body)  # once: a disk still full keeps the batch in memory
        if error is not None:
            self._hold(path.name, gz_body)
            self._write_failed("write", error)
            return path
        if self._unwritable:
            self._unwritable = False
            spilled = self.spill()
            self._count()  # the counters kept in memory meanwhile reach stats.json
            log.warning("event=spool_writable_again written_from_memory=%d held_in_memory=%d", spilled, self.held())
        self.enforce_bounds()
        return path

    def ack(self, path: Path) -> None:
        if self._unhold(path.name) is not None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # read-only: remember it was acknowledged, so it is never sent again
            self._gone.add(path.name)
            self._write_failed("delete", exc)

    def reject(self, path: Path, reason: str) -> None:
        """Set aside a batch the server refused for good (kept for a person to look at)."""
        self._set_aside(path, self.rejected_dir, ".reason.txt", reason)

    def fail(self, path: Path, status: int | None, answer: bytes) -> Path:
        """Set aside a batch the server keeps failing on (5xx) while it takes others, with its answer."""
        note = f"status: {status}\n\n{answer.decode('utf-8', 'replace')}\n"
        self._set_aside(path, self.failed_dir, ".answer.txt", note)
        self._count(failed=1)
        return self.failed_dir / path.name

    def size_bytes(self) -> int:
        return sum(_size(p) for p in self.pending())

    def dropped(self) -> int:
        return self.stats.get("dropped", 0)

    def enforce_bounds(self) -> int:
        batches = [p for p in self.pending() if p.name not in self._held]
        sizes = {p: _size(p) for p in batches}
        total, now, dropped = sum(sizes.values()), self.clock(), 0
        for path in batches[:-1]:  # the newest batch is always kept
            written_at = int(path.name.split("-", 1)[1].split(".", 1)[0])
            if total <= self.max_bytes and now - written_at <= self.max_age_s:
                break
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                self._write_failed("delete", exc)
                break
            total -= sizes[path]
            dropped += 1
        if dropped:
            self._count(dropped=dropped)
            log.warning("event=spool_dropped batches=%d total_dropped=%d reason=bounds", dropped, self.dropped())
        return dropped

    def _make_room(self, needed_bytes: int) -> bool:
        """Disk full: drop the oldest batches on disk until `needed_bytes` are freed; True if any went."""
        freed = dropped = 0
        for path in self.pending():
            if freed >= needed_bytes:
                break
            if path.name in self._held:
                continue
            size = _size(path)
            try:
                path.unlink()
            except FileNotFoundError:  # acknowledged meanwhile
                continue
            except OSError:
                break
            freed, dropped = freed + size, dropped + 1
        if dropped:
            self._count(dropped=dropped, dropped_disk_full=dropped)
            log.warning("event=spool_dropped batches=%d freed_bytes=%d total_dropped=%d reason=disk_full",
                        dropped, freed, self.dropped())  # fmt: skip
        return dropped > 0

    def _hold(self, name: str, body: bytes) -> None:
        with self._lock:
            self._held[name], self._held_bytes = body, self._held_bytes + len(body)
            lost = 0
            while self._held_bytes > self.max_held_bytes and len(self._held) > 1:  # the newest is kept
                self._held_bytes -= len(self._held.pop(next(iter(self._held))))
                lost += 1
        if lost:
            self._count(dropped=lost, dropped_memory=lost)
            log.warning("event=spool_dropped batches=%d total_dropped=%d reason=memory_full held_in_memory=%d",
                        lost, self.dropped(), self.held())  # fmt: skip

    def _unhold(self, name: str) -> bytes | None:
        with self._lock:
            body = self._held.pop(name, None)
            if body is not None:
                self._held_bytes -= len(body)
            return body

    def spill(self) -> int:
        """Move the batches held in memory onto the disk, oldest first, while it takes them."""
        spilled = 0
        for name in list(self._held):
            with self._lock:  # an ack meanwhile must not be undone by writing the batch again
                body = self._held.get(name)
                if body is None:
                    continue
                if _write_atomic(self.dir / name, body) is not None:
                    break
                self._unhold(name)
            spilled += 1
        return spilled

    def _set_aside(self, path: Path, folder: Path, note_suffix: str, note: str) -> None:
        held = self._unhold(path.name)
        try:
            folder.mkdir(exist_ok=True)
            if held is None:
                path.rename(folder / path.name)
            elif (error := _write_atomic(folder / path.name, held)) is not None:
                raise error
            (folder / (path.name + note_suffix)).write_text(note)
        except FileNotFoundError:  # dropped by the bounds meanwhile
            return
        except OSError as exc:  # not kept, but never sent again either
            self._gone.add(path.name)
            self._write_failed("set_aside", exc)

    def _write_failed(self, what: str, exc: OSError) -> None:
        """Counted every time; logged when the spool stops taking writes, not for every batch."""
        self._count(write_errors=1)
        if not self._unwritable:
            self._unwritable = True
            log.error("event=spool_write_failed op=%s errno=%s dir=%s held_in_memory=%d error=%r: batches are "
                      "kept in memory (at most %d MB) until the spool can be written", what,
                      errno.errorcode.get(exc.errno or 0, exc.errno), self.dir, self.held(), str(exc),
                      self.max_held_bytes // 1024**2)  # fmt: skip

    def _count(self, **increments: int) -> None:
        with self._lock:
            for key, n in increments.items():
                self.stats[key] = self.stats.get(key, 0) + n
            # Best effort: on a full or read-only disk the counters live on in memory.
            _write_atomic(self._stats_path, json.dumps(self.stats).encode())


def read_stats(directory: Path) -> dict[str, int]:
    try:
        value = json.loads((Path(directory) / "stats.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: int(v) for k, v in value.items() if k in STATS and isinstance(v, int)} if isinstance(value, dict) else {}


def report(directory: Path) -> dict[str, Any]:
    """What `check` says about a spool, read without changing it (the agent may be running)."""
    directory = Path(directory)
    stats = read_stats(directory)
    dropped = stats.get("dropped", 0)
    return {
        "dir": directory,
        "waiting": len(list(directory.glob("*.json.gz"))),
        "dropped": dropped,
        "dropped_bounds": dropped - stats.get("dropped_disk_full", 0) - stats.get("dropped_memory", 0),
        "dropped_disk_full": stats.get("dropped_disk_full", 0),
        "dropped_memory": stats.get("dropped_memory", 0),
        "failed": len(list((directory / "failed").glob("*.json.gz"))),
        "failed_dir": directory / "failed",
        "rejected": len(list((directory / "rejected").glob("*.json.gz"))),
        "rejected_dir": directory / "rejected",
        "write_errors": stats.get("write_errors", 0),
    }


def _write_atomic(path: Path, data: bytes) -> OSError | None:
    """Write, fsync, rename: a reader sees the whole file or none of it. Returns the error, if any,
    having removed the half-written `.tmp`."""
    tmp = path.with_name(path.name.split(".", 1)[0] + ".tmp")
    fd = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(tmp, path)
    except OSError as exc:
        if fd is not None:
            with suppress(OSError):
                os.close(fd)
        with suppress(OSError):
            os.unlink(tmp)
        return exc
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # acknowledged meanwhile
        return 0
