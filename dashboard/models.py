"""The trends page's own cache: each host's UTC day summed from the hourly rollups, once.

A 90-day view of a 4,000-host fleet would otherwise read tens of millions of hourly rows on
every load; a day that is over changes no more, so it is summed once (dashboard.trends) and the
page groups 4,000 × 90 small rows instead. Nothing else reads these tables: deleting them only
makes the next load sum the days again.
"""

from __future__ import annotations

from django.db import models

from dashboard import deployment_metrics


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


class DeploymentRollup(models.Model):
    """A deployment's GPUs and inference servers summed per rollup period, for its chart
    (dashboard.deployment_rollup): 720 rows for 30 days instead of one per GPU and hour."""

    pk = models.CompositePrimaryKey("deployment", "period_s", "ts")
    deployment = models.CharField(max_length=255)
    period_s = models.PositiveIntegerField()
    ts = models.DateTimeField()
    util_pct_sum = models.FloatField(null=True, help_text="Σ util_pct_mean over its GPUs")
    gen_tps_sum = models.FloatField(null=True, help_text="Σ gen_tps_mean over its inference servers")

    class Meta:
        indexes = [models.Index(fields=["period_s", "ts"], name="deployment_rollup_period_ts")]

    def __str__(self) -> str:
        return f"{self.deployment} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


def _deployment_columns() -> None:
    """One column per dashboard.deployment_metrics entry beyond the table's first two: declared from the
    metric registry, so a metric added there shows up in `makemigrations` rather than in a hand list."""
    declared = {f.name for f in DeploymentRollup._meta.local_fields}
    for column in deployment_metrics.COLUMNS:
        if column.name not in declared:
            DeploymentRollup.add_to_class(column.name, models.FloatField(null=True, help_text=column.help_text))
    DeploymentRollup.add_to_class(
        deployment_metrics.GPU_MEMORY_TOTAL,
        models.FloatField(null=True, help_text="Σ memory.total of its GPUs with rows in the period, bytes"),
    )


_deployment_columns()
