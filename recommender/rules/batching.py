"""batching: the server's batch limit binds while the GPU and its memory have room.

The limit binds when requests wait (p95 of hourly means at least `batching_waiting`), or
when the server runs at its configured maximum in a material share of its busy hours. A
small batch from low traffic is not a batching problem: nothing waits and the limit is
never reached, so nothing is said. Memory must have room: the KV cache p95 under the
headroom line, or, for a server that exports no KV metric and does not pre-allocate, NVML
memory; a pre-allocating server without a KV metric gets no advice (its room is unknown).
The knob differs per server kind; the advice names it and a value to try.
"""

from __future__ import annotations

from recommender.findings import Finding, HostStats, ServerStats, evidence, series
from recommender.rules.common import PREALLOCATING, p, server_gpus, server_label, server_ref
from recommender.savings import Saving, confidence
from telemetry import units

NO_SAVING = Saving(
    basis="Not priced: batching raises throughput per GPU. Once the same traffic needs fewer GPUs, "
    "the deployment's plan prices the change as a scale-down."
)


def headroom(server: ServerStats, kv_p95: float | None, kv_line: float) -> int:
    """The step the advice takes: the whole times the batch fits under the KV line at p95, between 2× and 4×
    (a bigger step at once outruns what the p95 says about the peaks)."""
    if not kv_p95:
        return 2
    return int(max(2, min(4, kv_line // kv_p95)))


def room_text(kv_p95: float, kv_line: float) -> str:
    """The KV cache's room as the true ratio of the figures it prints (p95 to one decimal, as the evidence shows
    it), so a reader's own division agrees; the action's new limit says the step taken."""
    ratio = kv_line / max(round(kv_p95, 1), 0.1)
    return f"the KV cache, p95 {kv_p95:.1f}%, has room for {ratio:.1f}× the batch under its {kv_line:g}% line"


def knob(server: ServerStats, factor: int = 2) -> str:
    current = server.max_batch_size
    target = max(16, factor * current) if current else 256
    if server.kind == "vllm":
        return f"raise --max-num-seqs from {current or 'its default'} to {target}"
    if server.kind == "tgi":
        return (
            f"raise --max-batch-total-tokens (and --max-concurrent-requests) so {target} requests "
            "fit a batch; --max-batch-size caps it"
        )
    if server.kind == "triton":
        return (
            f"set max_batch_size: {max(8, target // 16)} and add dynamic_batching "
            "{ max_queue_delay_microseconds: 2000 } to the model's config.pbtxt (the model must take a batch "
            "dimension: a TensorRT engine is rebuilt with that max batch size)"
        )
    if server.kind == "sglang":
        return f"raise --max-running-requests from {current or 'its default'} to {target}"
    return "batch requests on the server (e.g. a request queue that groups up to 8 with a 2–5 ms wait)"


def check(host: HostStats, ctx=None) -> list[Finding]:
    th = host.th
    out = []
    for server in host.servers:
        gpus = server_gpus(host, server)
        if not gpus or not host.enough_data(server.covered_s):
            continue
        util_p95 = max((p(g.util_hist, 95) or 0.0) for g in gpus)
        kv_p95 = p(server.kv_hist, 95)
        waiting = server.waiting_p95_hourly
        queue = waiting is not None and waiting >= th.batching_waiting
        at_limit = server.at_limit_share is not None and server.at_limit_share >= th.batching_at_limit_share
        if not (queue or at_limit) or util_p95 >= th.batching_util_headroom_pct:
            continue
        room = _memory_room(host, server, gpus, kv_p95)
        if room is None:
            continue
        factor = headroom(server, kv_p95, th.batching_kv_headroom_pct)
        if kv_p95 is not None:
            memory_text = room_text(kv_p95, th.batching_kv_headroom_pct)
        else:
            memory_text = room
        signs = []
        if queue:
            signs.append(f"{waiting:.1f} requests waiting (p95 of hourly means)")
        if at_limit:
            signs.append(
                f"the server runs at its limit of {server.max_batch_size} in "
                f"{units.fraction_to_pct(server.at_limit_share):.0f}% of busy hours"
            )
        said = " and ".join(signs)
        reason = (
            f"{said[:1].upper() + said[1:]} while memory ({memory_text}) and the GPU "
            f"(p95 {util_p95:.0f}%) have room: the batch limit ({server.max_batch_size or 'default'}) "
            "holds requests back."
        )
        label = f"{server.key} on {host.hostname}"
        value, limit = (waiting, th.batching_waiting) if queue else (server.at_limit_share, th.batching_at_limit_share)
        out.append(
            Finding(
                kind="batching",
                target_type="host",
                target_key=f"host:{host.machine_id}/server:{server.key}",
                target_label=label,
                deployment=host.deployment,
                title=f"Batch more on {server_label(server)} on {host.hostname}",
                reason=reason,
                action=f"On {server_ref(server)}, {knob(server, factor)}; then watch the queue"
                f"{' and the KV cache' if kv_p95 is not None else ''}.",
                evidence=_evidence(host, server, gpus, waiting, kv_p95, util_p95),
                saving=NO_SAVING,
                confidence=confidence(
                    server.covered_s, th.full_confidence_hours * 3600, value, limit, scale=max(limit, 1.0)
                ),
                host_id=host.host_id,
                gpu_ids=frozenset(server.gpu_ids),
                host_ids=frozenset({host.host_id}),
            )
        )
    return out


def _memory_room(host: HostStats, server: ServerStats, gpus, kv_p95: float | None) -> str | None:
    th = host.th
    if kv_p95 is not None:
        return "the KV cache below its line" if kv_p95 < th.batching_kv_headroom_pct else None
    if server.kind in PREALLOCATING:
        return None  # the KV pool is reserved at start: without its metric the room is unknown
    used = max(100 * (g.mem_used_max or 0) / g.memory_bytes for g in gpus if g.memory_bytes)
    return f"GPU memory peak {used:.0f}%" if used < th.batching_kv_headroom_pct else None


def _evidence(host: HostStats, server: ServerStats, gpus, waiting, kv_p95, util_p95) -> list[dict]:
    th, w, c = host.th, host.window_s, server.covered_s
    rows = [
        evidence(
            "requests waiting",
            "p95 of hourly means",
            waiting,
            th.batching_waiting,
            "requests",
            w,
            c,
            series("server", server.server_id, "waiting", "p95_hourly"),
        ),
        evidence(
            "KV cache use",
            "p95",
            kv_p95,
            th.batching_kv_headroom_pct,
            "%",
            w,
            c,
            series("server", server.server_id, "kv_cache_pct", "p95"),
            reported=kv_p95 is not None,
        ),
        evidence(
            "GPU utilization",
            "p95",
            util_p95,
            th.batching_util_headroom_pct,
            "%",
            w,
            c,
            series("gpu", gpus[0].gpu_id, "util_pct", "p95"),
        ),
    ]
    if server.at_limit_share is not None:
        rows.append(
            evidence(
                "running at the batch limit",
                "share of busy hours",
                units.fraction_to_pct(server.at_limit_share),
                units.fraction_to_pct(th.batching_at_limit_share),
                "%",
                w,
                c,
                series("server", server.server_id, "running", "mean"),
                limit=server.max_batch_size,
            )
        )
    return rows
