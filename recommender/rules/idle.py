"""idle: GPUs (or CPU-only hosts) that did no work over the window → release them.

A GPU is idle when its p99 utilization stays under the threshold and no inference server
on it served a request. "Idle but holding memory" is the case generic tools miss: a loaded
server holds the memory while the compute sits at ~0. As a plan step: a deployment whose
every GPU is idle is released whole (and its plan ends there); GPUs that serve no replica
of a working deployment are released alone.
"""

from __future__ import annotations

from dataclasses import replace

from recommender.findings import GpuStats, HostStats, evidence, series
from recommender.plan import Config, plural, released
from recommender.rules.common import p
from recommender.rules.state import State, Step
from recommender.savings import confidence


def idle_gpus(s: State) -> list[tuple[HostStats, GpuStats, float]]:
    out = []
    for host in s.dep.hosts:
        for gpu in host.gpus:
            p99 = _at_most(p(gpu.util_hist, 99), gpu.util_max)
            if p99 is None or not host.enough_data(gpu.covered_s) or p99 >= s.th.idle_util_p99_pct:
                continue
            if any(sv.served_requests for sv in host.servers if gpu.gpu_id in sv.gpu_ids):
                continue
            out.append((host, gpu, p99))
    return out


def step(s: State, start: Config) -> Step | None:
    if not s.gpus:
        return _cpu_only(s, start)
    idle = idle_gpus(s)
    if not idle:
        return None
    if len(idle) == len(s.gpus):
        return _whole(s, start, idle)
    served = {g for h in s.dep.hosts for sv in h.servers for g in sv.gpu_ids}
    spare = [(h, g, v) for h, g, v in idle if g.gpu_id not in served]
    if not spare or not start.spare_gpus:
        return None
    n = min(len(spare), start.spare_gpus)
    spare = spare[:n]
    proposed = replace(start, spare_gpus=start.spare_gpus - n)
    where = ", ".join(f"GPU {g.index} on {h.hostname}" for h, g, _ in spare)
    worst = max(v for _, _, v in spare)
    return Step(
        "idle",
        proposed,
        f"Release {plural(n, 'idle GPU')} of {s.dep.name}",
        f"{where}: no inference server runs on {'it' if n == 1 else 'them'}, and utilization stayed under "
        f"{s.th.idle_util_p99_pct:g}% at p99 ({_measured([(g, v) for _, g, v in spare])}) over "
        f"{plural(round(s.dep.window_s / 86400), 'day')}.",
        f"Release {where}, or give {'it' if n == 1 else 'them'} work.",
        [_util(s, h, g, v) for h, g, v in spare],
        confidence(
            min(g.covered_s for _, g, _ in spare), s.th.full_confidence_hours * 3600, worst, s.th.idle_util_p99_pct
        ),
        [],
    )


def _whole(s: State, start: Config, idle: list) -> Step:
    held = []
    for host in s.dep.hosts:
        for sv in host.servers:
            gpus = [g for g in host.gpus if g.gpu_id in sv.gpu_ids and g.memory_bytes]
            if gpus and max(100 * (g.mem_used_max or 0) / g.memory_bytes for g in gpus) >= s.th.idle_held_mem_pct:
                held.append(f"{sv.key} ({sv.model or sv.kind}) on {host.hostname}")
    worst = max(v for _, _, v in idle)
    days = s.dep.window_s / 86400
    which = "Its GPU" if len(idle) == 1 else "Both GPUs" if len(idle) == 2 else f"All {len(idle)} GPUs"
    reason = (
        f"{which} stayed under {s.th.idle_util_p99_pct:g}% utilization at p99 "
        f"({_measured([(g, v) for _, g, v in idle])}) over {plural(round(days), 'day')}, and no request was served."
    )
    if held:
        reason += " Memory is still held by " + ", ".join(held) + ": loaded and unused."
    title = f"{'Idle but holding memory' if held else 'Idle'}: release {s.dep.name} ({plural(len(idle), 'GPU')})"
    evidence_rows = [_util(s, h, g, v) for h, g, v in idle[:8]]
    evidence_rows += [_held(s, h, g) for h, g, _ in idle[:8] if g.mem_used_max and g.memory_bytes]
    return Step(
        "idle",
        released(start),
        title,
        reason,
        _whole_action(len(held), len(idle), len({h.host_id for h, _, _ in idle})),
        evidence_rows,
        confidence(
            min(g.covered_s for _, g, _ in idle), s.th.full_confidence_hours * 3600, worst, s.th.idle_util_p99_pct
        ),
        [],
    )


def _cpu_only(s: State, start: Config) -> Step | None:
    hosts = []
    for host in s.dep.hosts:
        p99 = _at_most(p(host.cpu_hist, 99), host.cpu_max)
        if p99 is None or not host.enough_data() or p99 >= s.th.idle_util_p99_pct:
            return None
        if any(sv.served_requests for sv in host.servers):
            return None
        hosts.append((host, p99))
    if not hosts:
        return None
    worst = max(v for _, v in hosts)
    names = ", ".join(h.hostname for h, _ in hosts)
    return Step(
        "idle",
        released(start),
        f"Idle: release {s.dep.name} ({plural(len(hosts), 'host')}, no GPU)",
        f"CPU stayed under {s.th.idle_util_p99_pct:g}% at p99 ({_measured([(h.cpu_max, v) for h, v in hosts])}) over "
        f"{plural(round(s.dep.window_s / 86400), 'day')} on {names}, and no inference server served a request.",
        f"Release {names}, or give {'it' if len(hosts) == 1 else 'them'} work.",
        [
            evidence(
                "host CPU utilization",
                "p99",
                v,
                s.th.idle_util_p99_pct,
                "%",
                s.dep.window_s,
                h.covered_s,
                series("host", h.host_id, "cpu_pct", "p99"),
            )
            for h, v in hosts
        ],
        confidence(
            min(h.covered_s for h, _ in hosts), s.th.full_confidence_hours * 3600, worst, s.th.idle_util_p99_pct
        ),
        [],
    )


def _at_most(p99: float | None, peak: float | None) -> float | None:
    """The histogram's p99 is a bucket's upper edge; the true p99 is never above the measured max."""
    return p99 if p99 is None or peak is None else min(p99, peak)


def _measured(rows: list[tuple[GpuStats | float | None, float]]) -> str:
    """What was measured, named for what it is: "p99 1.0%, max 3.2%" for one, "highest p99 1.0%, highest
    max 3.2%" for several; rows are (a GPU or a host's CPU max, p99). The max is left out where not known."""
    p99 = max(v for _, v in rows)
    peaks = [m.util_max if isinstance(m, GpuStats) else m for m, _ in rows]
    known = [v for v in peaks if v is not None]
    lead = "" if len(rows) == 1 else "highest "
    text = f"{lead}p99 {p99:.1f}%"
    if len(known) == len(peaks):
        text += f", {lead}max {max(known):.1f}%"
    return text


def _whole_action(servers: int, gpus: int, hosts: int) -> str:
    """Numbers agree with what is there: one server and one GPU read "the idle server ... the GPU"."""
    gpu_words = "the GPU" if gpus == 1 else "the GPUs"
    if servers:
        server_words = "the idle server" if servers == 1 else "the idle servers"
        return (
            f"Stop {server_words} and release {gpu_words}, or let the deployment scale to zero when no traffic comes."
        )
    host_words = "the host" if hosts == 1 else "the hosts"
    return f"Release {gpu_words} (or {host_words}), or give {'it' if gpus == 1 else 'them'} work."


def _util(s: State, host: HostStats, gpu: GpuStats, p99: float) -> dict:
    return evidence(
        f"GPU {gpu.index} utilization on {host.hostname}",
        "p99",
        p99,
        s.th.idle_util_p99_pct,
        "%",
        s.dep.window_s,
        gpu.covered_s,
        series("gpu", gpu.gpu_id, "util_pct", "p99"),
    )


def _held(s: State, host: HostStats, gpu: GpuStats) -> dict:
    return evidence(
        f"GPU {gpu.index} memory used on {host.hostname}",
        "max",
        100 * (gpu.mem_used_max or 0) / gpu.memory_bytes,
        s.th.idle_held_mem_pct,
        "% of memory",
        s.dep.window_s,
        gpu.covered_s,
        series("gpu", gpu.gpu_id, "mem_used_pct", "max"),
    )
