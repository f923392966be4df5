"""The deployment a host belongs to: computed here, once, and stored on Host at inventory sync.

Every reader (the analysis, the fleet summary, the dashboard, the read APIs) reads the
stored Host.deployment instead of deciding again, so they all group hosts the same way.
Pure: no Django, so the migration that backfills the column can call it too.
"""

from __future__ import annotations

from collections.abc import Mapping

LABEL = "deployment"


def deployment_name(labels: Mapping[str, object], models_by_server: Mapping[str, str | None], hostname: str) -> str:
    """The host's `deployment` label if it has a non-empty one; else the model of its first active
    inference server (by the agent's server id, e.g. 'vllm:8000') that names one; else its hostname,
    so a host with neither is a deployment of its own.

    `models_by_server` maps each *active* server's id to its model ('' or None when unknown).
    """
    label = labels.get(LABEL)
    if label:
        return str(label)
    for server_id in sorted(models_by_server):
        if model := models_by_server[server_id]:
            return model
    return hostname
