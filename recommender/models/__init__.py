from __future__ import annotations

from recommender.models.catalog import GpuType, ModelSpec
from recommender.models.pricing import HostPrice
from recommender.models.recommendation import Recommendation
from recommender.models.summary import HostSummary
from recommender.models.thresholds import DeploymentThresholds, FleetThresholds

__all__ = [
    "DeploymentThresholds",
    "FleetThresholds",
    "GpuType",
    "HostPrice",
    "HostSummary",
    "ModelSpec",
    "Recommendation",
]
