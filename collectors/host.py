"""Whole-machine sampling with psutil: CPU, load, memory, swap, network, disk.

Rates (bytes per second) come from counter deltas between two samples, so the
first sample has none: absent, not zero. Interfaces may appear or vanish
between samples; a counter that went backwards (wrap, driver reset) counts as
restarted from zero.
"""

from __future__ import annotations

import os
import platform
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

MACHINE_ID_PATHS = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def machine_id(state_dir: Path) -> str:
    """The OS's stable machine id, else one the agent generated once and kept."""
    for path in MACHINE_ID_PATHS:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if value:
            return value
    own = state_dir / "machine-id"
    if not own.exists():
        own.parent.mkdir(parents=True, exist_ok=True)
        own.write_text(uuid.uuid4().hex)
    return own.read_text().strip()


def host_info(state_dir: Path, labels: dict[str, str], instance_type: str = "", host_id: str = "") -> dict[str, Any]:
    """`host_id` (a setting) replaces the machine id: hosts cloned from one image share /etc/machine-id,
    and the server tells hosts apart by it alone."""
    return {
        "hostname": socket.gethostname(),
        "machine_id": host_id or machine_id(state_dir),
        "cpu_count": psutil.cpu_count(logical=True) or None,
        "mem_total": psutil.virtual_memory().total,
        "os": f"{platform.system()} {platform.release()}",
        "labels": labels,
        "instance_type": instance_type,
    }


def counter_rate(now: int, before: int | None, elapsed_s: float) -> float | None:
    if before is None or elapsed_s <= 0:
        return None
    delta = now - before
    if delta < 0:  # wrapped or reset: the counter started again from zero
        delta = now
    return delta / elapsed_s


class HostSampler:
    """One sample() per interval; psutil is primed here so the first CPU % is real."""

    def __init__(self, skip_interfaces: tuple[str, ...] = ("lo",)) -> None:
        self.skip_interfaces = skip_interfaces
        psutil.cpu_percent(interval=None)
        self._net: dict[str, tuple[int, int]] = {}
        self._disk: tuple[int, int] | None = None
        self._at: float | None = None
        self._read_counters(time.monotonic())

    def _read_counters(self, at: float) -> tuple[dict[str, tuple[int, int]], tuple[int, int] | None]:
        nics = psutil.net_io_counters(pernic=True) or {}
        net = {name: (c.bytes_recv, c.bytes_sent) for name, c in nics.items() if name not in self.skip_interfaces}
        disk_counters = psutil.disk_io_counters(perdisk=False)
        disk = (disk_counters.read_bytes, disk_counters.write_bytes) if disk_counters else None
        previous = (self._net, self._disk, self._at)
        self._net, self._disk, self._at = net, disk, at
        return previous[0], previous[1]

    def sample(self) -> dict[str, Any]:
        at = time.monotonic()
        elapsed = at - self._at if self._at is not None else 0.0
        old_net, old_disk = self._read_counters(at)
        # Interfaces seen both times; a new one's rate starts with the next sample.
        both = [(now, old_net[name]) for name, now in self._net.items() if name in old_net]
        rx = tx = None
        if both and elapsed > 0:
            rx = sum(counter_rate(now[0], before[0], elapsed) for now, before in both)
            tx = sum(counter_rate(now[1], before[1], elapsed) for now, before in both)
        mem = psutil.virtual_memory()
        sample: dict[str, Any] = {
            "cpu_pct": psutil.cpu_percent(interval=None),
            "mem_used": mem.total - mem.available,  # what `free` calls used + shared
            "mem_available": mem.available,
            "swap_used": psutil.swap_memory().used,
            "net_rx_bps": rx,
            "net_tx_bps": tx,
            "disk_read_bps": None,
            "disk_write_bps": None,
        }
        if hasattr(os, "getloadavg"):
            sample["load1"] = os.getloadavg()[0]
        if self._disk is not None and old_disk is not None:
            sample["disk_read_bps"] = counter_rate(self._disk[0], old_disk[0], elapsed)
            sample["disk_write_bps"] = counter_rate(self._disk[1], old_disk[1], elapsed)
        return {k: v for k, v in sample.items() if v is not None}
