"""batching: requests wait while the KV cache and GPU have headroom, or batches stay near 1 under steady traffic.

The knob differs per server kind; the advice names it and a value to try.
"""

from __future__ import annotations

from recommender.findings import Finding, HostStats, ServerStats, evidence
from recommender.rules.common import p, server_gpus
from recommender.savings import Saving, confidence

NO_SAVING = Saving(basis="Not priced: batching raises throughput per GPU. Once the same traffic needs fewer GPUs, "
                         "scale_down prices the change.")  # fmt: skip


def knob(server: ServerStats) -> str:
    current = server.max_batch_size
    target = max(16, 2 * current) if current else 256
    if server.kind == "vllm":
        return f"raise --max-num-seqs from {current or 'its default'} to {target}"
    if server.kind == "tgi":
        return (f"raise --max-batch-total-tokens (and --max-concurrent-requests) so {target} requests "
                "fit a batch; --max-batch-size caps it")  # fmt: skip
    if server.kind == "triton":
        return ("enable dynamic_batching { max_queue_delay_microseconds: 2000 } in config.pbtxt with "
                f"max_batch_size ≥ {max(8, target // 16)} and preferred_batch_size [4, 8]")  # fmt: skip
    if server.kind == "sglang":
        return f"raise --max-running-requests from {current or 'its default'} to {target}"
    return "batch requests on the server (e.g. a request queue that groups up to 8 with a 2–5 ms wait)"


def check(host: HostStats) -> list[Finding]:
    th = host.th
    out = []
    for server in host.servers:
        gpus = server_gpus(host, server)
        if not gpus or not host.enough_data(server.covered_s):
            continue
        util_p95 = max((p(g.util_hist, 95) or 0.0) for g in gpus)
        kv_p95 = p(server.kv_hist, 95)
        waiting = server.waiting_p95_hourly
        evidence_rows = [
            evidence("requests waiting", "p95 of hourly means", waiting, th["batching_waiting"], "requests",
                     host.window_s, server.covered_s),
            evidence("KV cache use", "p95", kv_p95, th["batching_kv_headroom_pct"], "%", host.window_s,
                     server.covered_s),
            evidence("GPU utilization", "p95", util_p95, th["batching_util_headroom_pct"], "%", host.window_s,
                     server.covered_s),
        ]  # fmt: skip
        headroom = util_p95 < th["batching_util_headroom_pct"] and (kv_p95 or 0) < th["batching_kv_headroom_pct"]
        if waiting is not None and waiting >= th["batching_waiting"] and headroom:
            reason = (f"Requests wait (p95 of hourly means: {waiting:.1f}) while the KV cache (p95 "
                      f"{kv_p95 or 0:.0f}%) and the GPU (p95 {util_p95:.0f}%) have room: the batch limit "
                      f"({server.max_batch_size or 'default'}) holds them back.")  # fmt: skip
            value = waiting
            limit = th["batching_waiting"]
        elif (server.batch_mean is not None and server.batch_mean <= th["batching_batch_near_one"]
              and server.busy_hours_share >= 0.5 and util_p95 < th["batching_util_headroom_pct"]):  # fmt: skip
            reason = (f"The average batch is {server.batch_mean:.2f} request(s) under steady traffic (requests "
                      f"in {server.busy_hours_share * 100:.0f}% of hours) while the GPU's p95 utilization is "
                      f"{util_p95:.0f}%: requests run one at a time.")  # fmt: skip
            evidence_rows.append(evidence("batch size", "mean", server.batch_mean, th["batching_batch_near_one"],
                                          "requests", host.window_s, server.covered_s))  # fmt: skip
            value = server.batch_mean
            limit = th["batching_batch_near_one"]
        else:
            continue
        label = f"{server.key} on {host.hostname}"
        out.append(Finding(
            kind="batching", target_type="host", target_key=f"host:{host.machine_id}/server:{server.key}",
            target_label=label, deployment=host.deployment, title=f"Batch more on {label} ({server.kind})",
            reason=reason, action=f"{server.kind}: {knob(server)}; then watch the queue and the KV cache.",
            evidence=evidence_rows, saving=NO_SAVING,
            confidence=confidence(server.covered_s / host.window_s, value, limit),
            host_id=host.host_id, gpu_ids=frozenset(server.gpu_ids), host_ids=frozenset({host.host_id}),
        ))  # fmt: skip
    return out
