"""The rules: pure functions over a window of rollups (recommender.findings), findings out.

Host rules look at one host's servers and GPUs; the deployment plan
(recommender.rules.deployment_plan) chains the sizing steps (idle, scale_down,
quantize, smaller_gpu), each in its own module. resolve() removes advice that another
rule contradicts.
"""

from __future__ import annotations

from recommender.rules import batching, deployment_plan, host_rightsize, saturation
from recommender.rules.resolve import resolve

HOST_RULES = [batching.check, host_rightsize.check, saturation.check]
DEPLOYMENT_RULES = [deployment_plan.check]

__all__ = ["DEPLOYMENT_RULES", "HOST_RULES", "resolve"]
