"""The trends page's own cache: each host's UTC day summed from the hourly rollups, once.

A 90-day view of a 4,000-host fleet would otherwise read tens of millions of hourly rows on
every load; a day that is over changes no more, so it is summed once (dashboard.trends) and the
page groups 4,000 × 90 small rows instead. Nothing else reads these tables: deleting them only
makes the next load sum the days again.
"""

from __future__ import annotations

from django.db import models


class TrendDay(models.Model):
    """One host's UTC day: what it reported, how busy its GPUs were, and the tokens its servers generated."""

    day = models.DateField()
    host = models.ForeignKey("telemetry.Host", on_delete=models.CASCADE, related_name="trend_days", db_index=False)
    host_s = models.FloatField(default=0.0, help_text="seconds the host reported: Σ covered_s of its hourly rollups")
    gpu_s = models.FloatField(default=0.0, help_text="GPU-seconds with a utilization reading")
    gpu_busy_s = models.FloatField(default=0.0, help_text="Σ util_pct_mean / 100 × covered_s over its GPUs")
    tokens = models.FloatField(default=0.0, help_text="Σ gen_tps_mean × covered_s over its inference servers")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "host"], name="trend_day_per_host")]

    def __str__(self) -> str:
        return f"host {self.host_id} on {self.day}"


class TrendDayDone(models.Model):
    """A day summed for every host, and when: a day summed before its last hour was rolled up is summed again."""

    day = models.DateField(primary_key=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} summed at {self.computed_at:%Y-%m-%d %H:%M}"
