"""Which thresholds apply: the one place the layers are read, so the analysis, the alerts and the
settings page agree.

Built-in defaults ← RIGHTSIZER_RECOMMENDER_THRESHOLDS (the operator's base, checked at start-up)
← the fleet-wide values saved in the dashboard ← a deployment's overrides. A saved layer that no
longer fits (a bound or the base changed since) is skipped as a whole, so the layer below applies
rather than half of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings

from recommender.models import DeploymentThresholds, FleetThresholds
from recommender.thresholds import Thresholds, merged, parse, sources

log = logging.getLogger(__name__)


class InForce:
    """The layers read once (two queries): `.fleet` for the fleet, `.for_deployment(name)` for one."""

    def __init__(self, env: Mapping[str, float] | None = None, saved: Mapping[str, float] | None = None):
        self.env = dict(settings.RECOMMENDER_THRESHOLDS if env is None else env)
        self.base = parse(self.env)  # defaults ← environment: what the dashboard's blanks inherit
        self.saved = dict(FleetThresholds.saved() if saved is None else saved)
        self.fleet = merged(self.base, self.saved)
        if self.saved and self.fleet is self.base:
            log.warning("event=fleet_thresholds_skipped reason=invalid_over_base values=%s", self.saved)
            self.saved = {}
        self.overrides = dict(DeploymentThresholds.objects.values_list("deployment", "values"))

    def for_deployment(self, deployment: str) -> Thresholds:
        return merged(self.fleet, self.overrides.get(deployment))

    def sources(self) -> dict[str, str]:
        """Per threshold, the layer its fleet-wide value comes from: default, environment or dashboard."""
        return sources(self.env, self.saved)
