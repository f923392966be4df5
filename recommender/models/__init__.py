from __future__ import annotations

from recommender.models.catalog import GpuType, ModelSpec
from recommender.models.pricing import HostPrice
from recommender.models.recommendation import Recommendation
from recommender.models.thresholds import DeploymentThresholds

__all__ = ["DeploymentThresholds", "GpuType", "HostPrice", "ModelSpec", "Recommendation"]
