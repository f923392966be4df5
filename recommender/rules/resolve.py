"""Two rules never give contradicting advice on one target.

- Saturation wins over every saving on the same GPUs or deployment: "scale up"
  and "scale down" never stand side by side.
- An idle GPU or host is released, not resized: sizing and batching advice on
  GPUs that are all idle goes, and so does host_rightsize on an idle host.
"""

from __future__ import annotations

from recommender.findings import Finding

SAVINGS = {"idle", "scale_down", "smaller_gpu", "quantize", "host_rightsize"}
RESIZING = {"scale_down", "smaller_gpu", "quantize", "batching", "host_rightsize"}


def resolve(findings: list[Finding]) -> list[Finding]:
    saturated = [f for f in findings if f.kind == "saturation"]
    hot_gpus = {g for f in saturated for g in f.gpu_ids}
    hot_deployments = {f.deployment for f in saturated}
    idle = [f for f in findings if f.kind == "idle"]
    idle_gpus = {g for f in idle for g in f.gpu_ids}
    idle_hosts = {f.host_id for f in idle if f.target_type == "host"}
    kept = []
    for f in findings:
        if f.kind in SAVINGS and (f.gpu_ids & hot_gpus or (f.target_type == "deployment" and f.deployment in
                                                            hot_deployments)):  # fmt: skip
            continue
        if f.kind in RESIZING and f.gpu_ids and f.gpu_ids <= idle_gpus:
            continue
        if f.kind == "host_rightsize" and f.host_id in idle_hosts:
            continue
        kept.append(f)
    return kept
