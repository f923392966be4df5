"""Per-host figures the fleet page sorts and filters on, refreshed by recommender.summary every few minutes.

The fleet page would otherwise sum 24 hours of rollups for every GPU of every host on
each view; one row per host keeps that page one indexed read whatever the fleet size.
"""

from __future__ import annotations

from django.db import models


class HostSummary(models.Model):
    host = models.OneToOneField("telemetry.Host", primary_key=True, on_delete=models.CASCADE, related_name="summary")
    updated_at = models.DateTimeField()
    gpu_count = models.PositiveIntegerField(default=0)
    gpu_types = models.CharField(max_length=255, blank=True, help_text='e.g. "8× NVIDIA H100 80GB HBM3"')
    gpu_memory_bytes = models.BigIntegerField(default=0)
    memory_need_bytes = models.FloatField(null=True, help_text="peak of the last 24 h; see memory_need_basis")
    memory_need_basis = models.CharField(max_length=255, blank=True)
    usd_month = models.FloatField(null=True)
    price_label = models.CharField(max_length=255, blank=True)
    util_mean_pct = models.FloatField(null=True, help_text="mean GPU utilization over the last 24 full hours")
    util_hourly = models.JSONField(default=list, help_text="24 hourly means over the host's GPUs, oldest first")
    idle_gpus = models.PositiveIntegerField(default=0, help_text="GPUs whose utilization never passed the idle line")
    energy_kwh_month = models.FloatField(default=0.0, help_text="GPU energy this calendar month (UTC), full hours")

    def __str__(self) -> str:
        return f"summary of host {self.host_id} at {self.updated_at:%Y-%m-%d %H:%M}"
