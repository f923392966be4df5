"""Rollups: 5-minute and 1-hour rows per host, GPU and inference server.

Each row holds, per metric, the aggregates telemetry.registry declares (a
time-weighted mean, the max, a period's total), plus the sample count and
`covered_s`, the seconds of the period the samples cover (a sample covers the
time since the previous one, up to ROLLUP_MAX_GAP_S). The
percentage-type metrics also carry a fixed-bucket histogram in seconds, so the
p95 of any window is a SUM over rows (telemetry.histogram), never a raw scan.

Primary key (entity, period_s, ts), like the raw samples: the only index a row
costs, and the one every read walks.
"""

from __future__ import annotations

from django.db import models

from telemetry import registry
from telemetry.histogram import BUCKETS

PERIOD_5M = 300
PERIOD_1H = 3600
PERIODS = (PERIOD_5M, PERIOD_1H)


def histogram_fields(prefix: str) -> list[str]:
    return [f"{prefix}_h{i:02d}" for i in range(len(BUCKETS))]


def _add_histogram(cls: type[models.Model], prefix: str) -> None:
    for name in histogram_fields(prefix):
        cls.add_to_class(name, models.IntegerField(default=0))


class Rollup(models.Model):
    period_s = models.IntegerField(help_text="300 (5 min) or 3600 (1 h)")
    ts = models.DateTimeField(help_text="start of the period, UTC")
    samples = models.IntegerField()
    covered_s = models.FloatField(help_text="seconds of the period the samples cover")

    class Meta:
        abstract = True


class HostRollup(Rollup):
    pk = models.CompositePrimaryKey("host", "period_s", "ts")
    host = models.ForeignKey("telemetry.Host", on_delete=models.CASCADE, related_name="rollups", db_index=False)

    def __str__(self) -> str:
        return f"host {self.host_id} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


class GpuRollup(Rollup):
    pk = models.CompositePrimaryKey("gpu", "period_s", "ts")
    gpu = models.ForeignKey("telemetry.Gpu", on_delete=models.CASCADE, related_name="rollups", db_index=False)

    def __str__(self) -> str:
        return f"gpu {self.gpu_id} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


class ServerRollup(Rollup):
    pk = models.CompositePrimaryKey("server", "period_s", "ts")
    server = models.ForeignKey(
        "telemetry.InferenceServer", on_delete=models.CASCADE, related_name="rollups", db_index=False
    )

    def __str__(self) -> str:
        return f"server {self.server_id} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


ENTITY_ROLLUPS = {registry.HOST: HostRollup, registry.GPU: GpuRollup, registry.SERVER: ServerRollup}


def _rollup_field(metric: registry.Metric, aggregate: str) -> models.Field:
    # A byte count's max is a reading, kept whole; means and totals are floats.
    if aggregate == "max" and metric.unit == "bytes":
        return models.BigIntegerField(null=True)
    return models.FloatField(null=True)


# The metric columns, one per registry aggregate: <column>_mean, _max, _sum, _increase.
for _entity, _model in ENTITY_ROLLUPS.items():
    for _metric in registry.of(_entity):
        for _aggregate in _metric.aggregates:
            _model.add_to_class(_metric.rollup_column(_aggregate), _rollup_field(_metric, _aggregate))

# Histograms of the percentage-type values, in seconds per bucket.
HISTOGRAMS = {model: registry.histograms(entity) for entity, model in ENTITY_ROLLUPS.items()}
for _model, _metrics in HISTOGRAMS.items():
    for _prefix in _metrics.values():
        _add_histogram(_model, _prefix)


class RollupCursor(models.Model):
    """How far each tier is rolled up: every period that starts before `until` is done."""

    tier = models.CharField(max_length=16, primary_key=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tier} until {self.until:%Y-%m-%d %H:%M}"
