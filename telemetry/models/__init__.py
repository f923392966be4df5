from __future__ import annotations

# The token models live in accounts; the ingest path reads the agent's from here too.
from accounts.models import AgentToken, ApiToken
from telemetry.models.inventory import Gpu, Host, InferenceServer
from telemetry.models.rollups import GpuRollup, HostRollup, RollupCursor, ServerRollup
from telemetry.models.samples import GpuSample, HostSample, ServerSample

__all__ = [
    "AgentToken", "ApiToken", "Gpu", "GpuRollup", "GpuSample", "Host", "HostRollup", "HostSample", "InferenceServer",
    "RollupCursor", "ServerRollup", "ServerSample",
]  # fmt: skip
