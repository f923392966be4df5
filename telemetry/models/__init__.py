from __future__ import annotations

from telemetry.models.inventory import Gpu, Host, InferenceServer
from telemetry.models.samples import GpuSample, HostSample, ServerSample
from telemetry.models.tokens import AgentToken

__all__ = ["AgentToken", "Gpu", "GpuSample", "Host", "HostSample", "InferenceServer", "ServerSample"]
