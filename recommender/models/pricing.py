from __future__ import annotations

from django.db import models


class HostPrice(models.Model):
    """What one host really costs (reserved, spot, owned): replaces the GPU types' prices for it."""

    host = models.OneToOneField("telemetry.Host", on_delete=models.CASCADE, related_name="price")
    hourly_usd = models.FloatField(help_text="the whole host per hour, USD; its GPUs share it evenly")
    note = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.host}: ${self.hourly_usd:.2f}/h"
