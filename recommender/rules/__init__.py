"""The rules: pure functions over a window of rollups (recommender.findings), findings out.

Each module holds one rule; RULES runs them in order and resolve() removes advice
that another rule contradicts.
"""

from __future__ import annotations

from recommender.rules import batching, host_rightsize, idle, quantize, saturation, scale_down, smaller_gpu
from recommender.rules.resolve import resolve

HOST_RULES = [idle.check, batching.check, host_rightsize.check, saturation.check]
DEPLOYMENT_RULES = [scale_down.check, smaller_gpu.check, quantize.check]

__all__ = ["DEPLOYMENT_RULES", "HOST_RULES", "resolve"]
