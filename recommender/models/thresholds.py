from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


class DeploymentThresholds(models.Model):
    """Per-deployment overrides of the fleet-wide thresholds (only the keys given)."""

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


class FleetThresholds(models.Model):
    """The fleet-wide values an admin saved on the settings page: one row, only the keys set.

    They sit over RIGHTSIZER_RECOMMENDER_THRESHOLDS (the operator's base) and under each
    deployment's overrides; recommender.in_force layers them."""

    SINGLETON = 1

    values = models.JSONField(default=dict, help_text='e.g. {"target_util_pct": 60, "window_days": 21}')
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "fleet-wide thresholds"
        verbose_name_plural = "fleet-wide thresholds"

    def __str__(self) -> str:
        return "fleet-wide thresholds"

    @classmethod
    def saved(cls) -> dict[str, float]:
        """The values saved, or {} when none are (one indexed read)."""
        return cls.objects.filter(pk=cls.SINGLETON).values_list("values", flat=True).first() or {}

    @classmethod
    def store(cls, values: dict[str, float]) -> None:
        """Keep `values` as the fleet layer; empty removes the row, so the layers below apply."""
        if values:
            cls.objects.update_or_create(pk=cls.SINGLETON, defaults={"values": values})
        else:
            cls.objects.filter(pk=cls.SINGLETON).delete()

    def clean(self) -> None:
        from recommender.thresholds import parse

        try:
            parse(self.values)
        except ValueError as exc:
            raise ValidationError({"values": str(exc)}) from exc
