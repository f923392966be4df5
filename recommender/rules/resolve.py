"""Two rules never give contradicting advice on one target.

- Saturation wins over every saving on the same GPUs or deployment: "scale up"
  and "scale down" never stand side by side.
- A deployment released whole is released, not resized: batching advice on its
  GPUs goes, and so does host_rightsize on its hosts.
- A deployment whose batch limit holds requests back gets no sizing step: its load
  reads low until the limit is raised, and the next analysis sizes it then.
"""

from __future__ import annotations

from recommender.findings import Finding

SAVINGS = {"idle", "scale_down", "smaller_gpu", "quantize", "host_rightsize"}
RESIZING = {"scale_down", "smaller_gpu", "quantize", "batching", "host_rightsize"}


def resolve(findings: list[Finding]) -> list[Finding]:
    saturated = [f for f in findings if f.kind == "saturation"]
    hot_gpus = {g for f in saturated for g in f.gpu_ids}
    hot_deployments = {f.deployment for f in saturated}
    released = [f for f in findings if f.kind == "idle" and f.proposed and not f.proposed.get("usd_month")]
    idle_gpus = {g for f in released for g in f.gpu_ids}
    idle_hosts = {h for f in released for h in f.host_ids}
    # Requests held back by a batch limit make today's load read low: size the deployment once that is fixed.
    queued = {f.deployment for f in findings if f.kind == "batching"}
    kept = []
    for f in findings:
        if f.kind in SAVINGS and (
            f.gpu_ids & hot_gpus or (f.target_type == "deployment" and f.deployment in hot_deployments)
        ):
            continue
        if f.kind in RESIZING and f.gpu_ids and f.gpu_ids <= idle_gpus:
            continue
        if f.kind == "host_rightsize" and f.host_id in idle_hosts:
            continue
        if f.plan_step is not None and f.kind != "idle" and f.deployment in queued:
            continue
        kept.append(f)
    return _renumber(kept)


def _renumber(findings: list[Finding]) -> list[Finding]:
    """A deployment's plan that lost a step to saturation loses all of it (each step starts where the last ended)."""
    steps: dict[str, list[Finding]] = {}
    for f in findings:
        if f.plan_step is not None:
            steps.setdefault(f.deployment, []).append(f)
    broken = {d for d, fs in steps.items() if sorted(f.plan_step for f in fs) != list(range(1, len(fs) + 1))}
    return [f for f in findings if not (f.plan_step is not None and f.deployment in broken)]
