from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class DeploymentThresholds(models.Model):
    """Per-deployment overrides of settings.RECOMMENDER_THRESHOLDS (only the keys given)."""

    deployment = models.CharField(max_length=255, unique=True)
    values = models.JSONField(default=dict, help_text='e.g. {"target_util_pct": 60, "idle_util_p99_pct": 2}')

    class Meta:
        verbose_name = "deployment thresholds"
        verbose_name_plural = "deployment thresholds"

    def __str__(self) -> str:
        return self.deployment

    def clean(self) -> None:
        from recommender.thresholds import validate_overrides

        try:
            validate_overrides(self.values)
        except ValueError as exc:
            raise ValidationError({"values": str(exc)}) from exc
