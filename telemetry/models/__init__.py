from __future__ import annotations

from telemetry.models.inventory import Gpu, Host, InferenceServer
from telemetry.models.rollups import GpuRollup, HostRollup, RollupCursor, ServerRollup
from telemetry.models.samples import GpuSample, HostSample, ServerSample
from telemetry.models.tokens import AgentToken, ApiToken

__all__ = [
    "AgentToken", "ApiToken", "Gpu", "GpuRollup", "GpuSample", "Host", "HostRollup", "HostSample", "InferenceServer",
    "RollupCursor", "ServerRollup", "ServerSample",
]  # fmt: skip
