"""Raw samples: wide rows, one per entity per timestamp.

The primary key is (entity, ts): it makes ingest idempotent, serves time-range
reads, and is the only index each row costs (no surrogate id, no separate FK
index). Every metric is nullable: absent is not zero.
"""

from __future__ import annotations

from django.db import models


class HostSample(models.Model):
    pk = models.CompositePrimaryKey("host", "ts")
    host = models.ForeignKey("telemetry.Host", on_delete=models.CASCADE, related_name="samples", db_index=False)
    ts = models.DateTimeField()
    cpu_pct = models.FloatField(null=True)
    load1 = models.FloatField(null=True)
    mem_used_bytes = models.BigIntegerField(null=True)
    mem_available_bytes = models.BigIntegerField(null=True)
    swap_used_bytes = models.BigIntegerField(null=True)
    net_rx_bps = models.FloatField(null=True)
    net_tx_bps = models.FloatField(null=True)
    disk_read_bps = models.FloatField(null=True)
    disk_write_bps = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"host {self.host_id} at {self.ts:%Y-%m-%d %H:%M:%S}"


class GpuSample(models.Model):
    pk = models.CompositePrimaryKey("gpu", "ts")
    gpu = models.ForeignKey("telemetry.Gpu", on_delete=models.CASCADE, related_name="samples", db_index=False)
    ts = models.DateTimeField()
    util_pct = models.FloatField(null=True, help_text="utilization.gpu")
    mem_util_pct = models.FloatField(null=True, help_text="utilization.memory")
    mem_used_bytes = models.BigIntegerField(null=True, help_text="memory.used")
    power_w = models.FloatField(null=True, help_text="power.draw")
    temp_c = models.FloatField(null=True, help_text="temperature.gpu")
    sm_clock_mhz = models.FloatField(null=True, help_text="clocks.sm")
    energy_j = models.FloatField(null=True, help_text="total_energy_consumption, in joules")

    def __str__(self) -> str:
        return f"gpu {self.gpu_id} at {self.ts:%Y-%m-%d %H:%M:%S}"


class ServerSample(models.Model):
    server = models.ForeignKey("telemetry.InferenceServer", on_delete=models.CASCADE, related_name="samples")
    ts = models.DateTimeField()
    running = models.FloatField(null=True, help_text="requests being processed")
    waiting = models.FloatField(null=True, help_text="requests queued")
    kv_cache_pct = models.FloatField(null=True)
    batch_size = models.FloatField(null=True, help_text="mean requests per engine step")
    preempted = models.FloatField(null=True, help_text="preemptions since the previous sample")
    prompt_tps = models.FloatField(null=True)
    gen_tps = models.FloatField(null=True)
    requests_ps = models.FloatField(null=True, help_text="requests finished per second")
    queue_time_ms = models.FloatField(null=True, help_text="mean time a request waited")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["server", "ts"], name="serversample_server_ts")]

    def __str__(self) -> str:
        return f"server {self.server_id} at {self.ts:%Y-%m-%d %H:%M:%S}"
