"""Rollups: 5-minute and 1-hour rows per host, GPU and inference server.

Each row holds, per metric, a time-weighted mean and the max, plus the sample
count and `covered_s`, the seconds of the period the samples cover (a sample
covers the time since the previous one, up to ROLLUP_MAX_GAP_S). The
percentage-type metrics also carry a fixed-bucket histogram in seconds, so the
p95 of any window is a SUM over rows (telemetry.histogram), never a raw scan.

Primary key (entity, period_s, ts), like the raw samples: the only index a row
costs, and the one every read walks.
"""

from __future__ import annotations

from django.db import models

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
    cpu_pct_mean = models.FloatField(null=True)
    cpu_pct_max = models.FloatField(null=True)
    mem_used_bytes_mean = models.FloatField(null=True)
    mem_used_bytes_max = models.BigIntegerField(null=True)
    net_rx_bps_mean = models.FloatField(null=True)
    net_rx_bps_max = models.FloatField(null=True)
    net_tx_bps_mean = models.FloatField(null=True)
    net_tx_bps_max = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"host {self.host_id} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


class GpuRollup(Rollup):
    pk = models.CompositePrimaryKey("gpu", "period_s", "ts")
    gpu = models.ForeignKey("telemetry.Gpu", on_delete=models.CASCADE, related_name="rollups", db_index=False)
    util_pct_mean = models.FloatField(null=True)
    util_pct_max = models.FloatField(null=True)
    mem_used_bytes_mean = models.FloatField(null=True)
    mem_used_bytes_max = models.BigIntegerField(null=True)
    power_w_mean = models.FloatField(null=True)
    power_w_max = models.FloatField(null=True)
    temp_c_max = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"gpu {self.gpu_id} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


class ServerRollup(Rollup):
    pk = models.CompositePrimaryKey("server", "period_s", "ts")
    server = models.ForeignKey(
        "telemetry.InferenceServer", on_delete=models.CASCADE, related_name="rollups", db_index=False
    )
    running_mean = models.FloatField(null=True)
    running_max = models.FloatField(null=True)
    waiting_mean = models.FloatField(null=True)
    waiting_max = models.FloatField(null=True)
    kv_cache_pct_mean = models.FloatField(null=True)
    kv_cache_pct_max = models.FloatField(null=True)
    batch_size_mean = models.FloatField(null=True)
    batch_size_max = models.FloatField(null=True)
    preempted_sum = models.FloatField(null=True)
    prompt_tps_mean = models.FloatField(null=True)
    gen_tps_mean = models.FloatField(null=True)
    gen_tps_max = models.FloatField(null=True)
    requests_ps_mean = models.FloatField(null=True)
    requests_ps_max = models.FloatField(null=True)
    queue_time_ms_mean = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"server {self.server_id} {self.period_s} s at {self.ts:%Y-%m-%d %H:%M}"


# Histograms of the percentage-type values, in seconds per bucket.
HISTOGRAMS = {HostRollup: {"cpu_pct": "cpu"}, GpuRollup: {"util_pct": "util"}, ServerRollup: {"kv_cache_pct": "kv"}}
for _model, _metrics in HISTOGRAMS.items():
    for _prefix in _metrics.values():
        _add_histogram(_model, _prefix)


class RollupCursor(models.Model):
    """How far each tier is rolled up: every period that starts before `until` is done."""

    tier = models.CharField(max_length=16, primary_key=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tier} until {self.until:%Y-%m-%d %H:%M}"
