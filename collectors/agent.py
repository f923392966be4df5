"""The agent: sample on one clock, push on another, never lose a batch.

The sampling thread builds a sample every `sample_interval_s`; every
`push_interval_s` the samples so far become one batch, written to the spool.
The push thread drains the spool oldest first. SIGTERM spools what is still in
memory, tries one last drain for a few seconds, and exits.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil

from collectors import __version__
from collectors.host import HostSampler, host_info
from collectors.nvml import GpuSampler, Nvml
from collectors.push import ACCEPTED, REJECTED, TRANSIENT, UNAUTHORIZED, Backoff, Pusher, PushResult
from collectors.scrapers import Scraper
from collectors.spool import Spool, report

log = logging.getLogger("rightsizer.agent")
SPOOL_HEADER = "Rightsizer-Agent-Spool"  # rightsizer.metrics reads it; the agent imports no server code


class Sampler:
    """Everything one sample needs: the host, its GPUs, its inference servers."""

    def __init__(self, state_dir: Path, labels: dict[str, str], instance_type: str = "",
                 scrapers: list[Scraper] | None = None, nvml: Nvml | None = None,
                 host_id: str = "") -> None:  # fmt: skip
        self.host_sampler = HostSampler()
        self.nvml = nvml if nvml is not None else Nvml()
        self.gpu_sampler = GpuSampler(self.nvml)
        self.scrapers = scrapers or []
        self.host = host_info(state_dir, labels, instance_type, host_id)
        self.gpus = self.gpu_sampler.inventory()

    def sample(self) -> dict[str, Any]:
        sample: dict[str, Any] = {"ts": round(time.time(), 3), **self.host_sampler.sample()}
        sample["gpus"] = self.gpu_sampler.sample(self.gpus)
        sample["servers"] = [r for r in (s.scrape() for s in self.scrapers) if r is not None]
        return sample

    def processes(self) -> list[dict[str, Any]]:
        """GPU processes with their names and command lines (psutil)."""
        found = self.gpu_sampler.processes(self.gpus)
        for proc in found:
            try:
                p = psutil.Process(proc["pid"])
                proc["name"], proc["cmdline"] = p.name(), " ".join(p.cmdline())[:500]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # gone meanwhile, or another user's: the pid and memory still count
        return found

    def server_gpus(self, scraper: Scraper, processes: list[dict[str, Any]]) -> list[str]:
        """GPUs that the server's process (or its children) holds memory on."""
        pid = scraper.info.get("pid")
        if pid is None:
            return []
        try:
            family = {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
        except psutil.NoSuchProcess:
            return []
        return sorted({p["gpu_uuid"] for p in processes if p["pid"] in family})

    def batch(self, samples: list[dict[str, Any]]) -> dict[str, Any]:
        processes = self.processes()
        return {
            "agent": {"version": __version__},
            "host": self.host,
            "gpus": self.gpus,
            "servers": [s.inventory(self.server_gpus(s, processes)) for s in self.scrapers],
            "processes": processes,
            "samples": samples,
        }


def spool_header(hostname: str, spool: Spool, waiting: int) -> str:
    """The spool as the server's /metrics shows it per host: batches waiting, dropped, failed, rejected."""
    r = report(spool.dir)
    counts = {"waiting": waiting, "dropped": r["dropped"], "failed": r["failed"], "rejected": r["rejected"]}
    return urlencode({"host": hostname, **counts})


def encode(batch: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(batch, separators=(",", ":")).encode(), compresslevel=6)


class Drainer:
    """Pushes spooled batches oldest first; the only code that talks to the server.

    A batch answered with a 5xx `max_5xx` times in a row may be what breaks the server, or the
    server may be failing for everyone: the batch behind it tells. If the server takes that one
    and fails on the first once more, the first is set aside under spool/failed/ with the server's
    answer and the rest flow; if it fails on both, the server is down and the count starts again.
    """

    def __init__(self, spool: Spool, pusher: Pusher, backoff: Backoff | None = None, max_5xx: int = 20,
                 hostname: str = "") -> None:  # fmt: skip
        self.spool, self.pusher = spool, pusher
        self.hostname = hostname  # names the spool report sent beside each push (the server's /metrics)
        self.backoff = backoff or Backoff()
        self.max_5xx = max_5xx
        self.wait_s = 0.0  # how long to wait before the next attempt
        self._unauthorized_logged = False
        self._5xx_batch, self._5xx_count = "", 0  # the oldest batch's 5xx answers in a row

    def drain(self, deadline: float | None = None, stop: threading.Event | None = None) -> int:
        """Push until the spool is empty, a transient error, the deadline or `stop`; returns batches sent."""
        sent = 0
        pending = self.spool.pending()
        if self.hostname:
            self.pusher.extra_headers = {SPOOL_HEADER: spool_header(self.hostname, self.spool, len(pending))}
        batches = iter(pending)
        for path in batches:
            if (deadline is not None and time.monotonic() > deadline) or (stop and stop.is_set()):
                break
            suspect = path.name == self._5xx_batch and self._5xx_count >= self.max_5xx
            behind = next(batches, None) if suspect else None
            if behind is None:
                result = self._send(path)
            else:
                result = self._send(behind)  # is it the batch or the server?
                if result is not None and result.outcome == ACCEPTED:
                    sent += 1
                    result = self._send(path)  # the server takes others: one more try
                    if _is_5xx(result):
                        self._set_aside(path, result)
                        continue
            sent += result is not None and result.outcome == ACCEPTED
            if result is not None and result.outcome not in (ACCEPTED, REJECTED):
                break
        return sent

    def _send(self, path: Path) -> PushResult | None:
        """Push one batch and act on the answer; None if the batch was dropped meanwhile."""
        body = self.spool.read(path)
        if body is None:
            return None
        result = self.pusher.push(body)
        if _is_5xx(result):
            same = path.name == self._5xx_batch
            self._5xx_batch, self._5xx_count = path.name, self._5xx_count + 1 if same else 1
        elif path.name == self._5xx_batch and result.outcome in (ACCEPTED, REJECTED):
            self._5xx_batch, self._5xx_count = "", 0
        if result.outcome == ACCEPTED:
            self.spool.ack(path)
            self.backoff.reset()
            self.wait_s, self._unauthorized_logged = 0.0, False
            log.debug("event=pushed batch=%s accepted=%d duplicates=%d", path.name, result.accepted,
                      result.duplicates)  # fmt: skip
        elif result.outcome == REJECTED:
            self.spool.reject(path, f"{result.status}: {result.message}")
            log.error("event=batch_rejected status=%s batch=%s message=%r", result.status, path.name,
                      result.message)  # fmt: skip
        elif result.outcome == UNAUTHORIZED:
            if not self._unauthorized_logged:
                log.error("event=push_unauthorized status=%s message=%r spooled=%d", result.status, result.message,
                          len(self.spool.pending()))  # fmt: skip
                self._unauthorized_logged = True
            self.wait_s = 60.0  # nothing changes until a person fixes the token
        else:
            assert result.outcome == TRANSIENT
            self.wait_s = self.backoff.next_delay(result.retry_after_s)
            log.warning("event=push_deferred status=%s retry_in_s=%.1f spooled=%d message=%r", result.status,
                        self.wait_s, len(self.spool.pending()), result.message)  # fmt: skip
        return result

    def _set_aside(self, path: Path, result: PushResult) -> None:
        tries = self._5xx_count
        moved_to = self.spool.fail(path, result.status, result.answer)
        self._5xx_batch, self._5xx_count = "", 0
        self.backoff.reset()
        self.wait_s = 0.0  # the server took the batch behind it: the rest may flow
        log.error("event=batch_failed status=%s batch=%s tries=%d moved_to=%s total_failed=%d message=%r",
                  result.status, path.name, tries, moved_to, self.spool.stats.get("failed", 0),
                  result.message)  # fmt: skip


def _is_5xx(result: PushResult | None) -> bool:
    return result is not None and result.outcome == TRANSIENT and (result.status or 0) >= 500


class Agent:
    def __init__(self, sampler: Sampler, spool: Spool, drainer: Drainer, sample_interval_s: float = 5.0,
                 push_interval_s: float = 30.0, rediscover: Any = None,
                 rediscover_s: float = 300.0) -> None:  # fmt: skip
        self.sampler, self.spool, self.drainer = sampler, spool, drainer
        # Looks for inference servers that started after the agent (cli.Servers.rediscover); 0: never.
        self.rediscover, self.rediscover_s = rediscover, rediscover_s
        self.sample_interval_s, self.push_interval_s = sample_interval_s, push_interval_s
        self.stop_event = threading.Event()
        self._wake_pusher = threading.Event()
        self._buffer: list[dict[str, Any]] = []

    def flush(self) -> None:
        """Samples in memory → one spooled batch."""
        if self._buffer:
            self.spool.put(encode(self.sampler.batch(self._buffer)))
            self._buffer = []
            self._wake_pusher.set()

    def _push_loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.drainer.drain(stop=self.stop_event)
            except Exception:  # noqa: BLE001 - the push thread must outlive a bug; batches stay spooled
                log.exception("event=push_loop_error retry_in_s=30")
                self.drainer.wait_s = 30.0
            self._wake_pusher.wait(self.drainer.wait_s or None)
            self._wake_pusher.clear()
            if self.drainer.wait_s:  # back off even if a new batch arrived
                self.stop_event.wait(self.drainer.wait_s)

    def run(self) -> None:
        log.info("event=agent_started version=%s host=%s gpus=%d servers=%d sample_s=%g push_s=%g spooled=%d",
                 __version__, self.sampler.host["hostname"], len(self.sampler.gpus), len(self.sampler.scrapers),
                 self.sample_interval_s, self.push_interval_s, len(self.spool.pending()))  # fmt: skip
        pusher = threading.Thread(target=self._push_loop, name="push", daemon=True)
        pusher.start()
        next_sample = next_push = next_discovery = time.monotonic()
        next_push += self.push_interval_s
        next_discovery += self.rediscover_s
        while not self.stop_event.is_set():
            if self.rediscover and self.rediscover_s and time.monotonic() >= next_discovery:
                self._rediscover()
                next_discovery += self.rediscover_s
            self._buffer.append(self.sampler.sample())
            next_sample += self.sample_interval_s
            if time.monotonic() >= next_push:
                self.flush()
                next_push += self.push_interval_s
            self.stop_event.wait(max(0.0, next_sample - time.monotonic()))
        self.shutdown(pusher)

    def _rediscover(self) -> None:
        try:
            self.rediscover()
        except Exception:  # noqa: BLE001 - psutil on an odd process table; sampling goes on
            log.exception("event=discovery_failed")

    def stop(self, *_: Any) -> None:
        self.stop_event.set()
        self._wake_pusher.set()

    def shutdown(self, pusher: threading.Thread | None = None, grace_s: float = 5.0) -> None:
        self.flush()
        if pusher is not None:
            pusher.join(grace_s)  # it stops between batches, so the drain below never overlaps it
        sent = self.drainer.drain(deadline=time.monotonic() + grace_s)
        self.spool.spill()  # what is still in memory survives the restart if the disk takes it now
        log.info("event=agent_stopped pushed_at_exit=%d still_spooled=%d lost_from_memory=%d", sent,
                 len(self.spool.pending()), self.spool.held())  # fmt: skip
