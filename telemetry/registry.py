"""Every metric the agent sends, declared once.

Each entry says where a reading comes from (its wire field in telemetry.wire / schema),
where it is stored (its raw sample column), which rollup columns it gets, and how a
page shows it (unit key, label, description). The store's column lists, the rollup
statements, the chart series and the evidence lookup are all derived from here, so a
metric added to the wire contract is added here and nowhere else (tests/telemetry/
test_registry.py fails for a wire field without an entry).

Aggregates, each a rollup column `<column>_<aggregate>`:
  mean      time-weighted mean over the period
  max       the largest reading
  sum       the sum of readings that count "since the previous sample" (preemptions)
  increase  the sum of a cumulative counter's increments (energy): what the period used;
            a counter that went backwards (a reset) or across a gap adds nothing
A `histogram` prefix adds the fixed-bucket histogram (telemetry.histogram) of a 0–100 metric.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST, GPU, SERVER = "host", "gpu", "server"
ENTITIES = (HOST, GPU, SERVER)
AGGREGATES = ("mean", "max", "sum", "increase")


@dataclass(frozen=True)
class Metric:
    entity: str  # host, gpu or server
    wire: str  # the field in the wire's Sample / GpuReading / ServerReading; the series JSON's key too
    column: str  # the raw sample column
    unit: str  # the chart unit key (pct, bytes, bps, w, celsius, mhz, joules, per_s, tps, ms, count, ratio)
    aggregates: tuple[str, ...]  # rollup columns <column>_<aggregate>, in AGGREGATES
    label: str
    description: str
    histogram: str | None = None  # the rollup's histogram prefix, for 0–100 metrics the analysis reads

    @property
    def key(self) -> str:
        """Unique across entities ("gpu.mem_used" and "host.mem_used" differ)."""
        return f"{self.entity}.{self.wire}"

    @property
    def chart_aggregate(self) -> str:
        """The rollup column a chart reads: the mean where there is one, else the period's total."""
        return next(a for a in ("mean", "sum", "increase", "max") if a in self.aggregates)

    def rollup_column(self, aggregate: str) -> str:
        if aggregate not in self.aggregates:
            raise KeyError(f"{self.key} has no {aggregate} rollup")
        return f"{self.column}_{aggregate}"

    def as_json(self) -> dict:
        return {"label": self.label, "unit": self.unit, "entity": self.entity, "description": self.description}


MEAN_MAX = ("mean", "max")

METRICS: tuple[Metric, ...] = (
    # Host (psutil)
    Metric(HOST, "cpu_pct", "cpu_pct", "pct", MEAN_MAX, "CPU",
           "CPU busy, all cores, percent.", histogram="cpu"),
    Metric(HOST, "load1", "load1", "ratio", MEAN_MAX, "Load average",
           "1-minute load average: runnable processes, compare with the CPU count."),
    Metric(HOST, "mem_used", "mem_used_bytes", "bytes", MEAN_MAX, "Memory used",
           "Host memory in use, bytes."),
    Metric(HOST, "mem_available", "mem_available_bytes", "bytes", ("mean",), "Memory available",
           "Host memory available to new processes without swapping, bytes."),
    Metric(HOST, "swap_used", "swap_used_bytes", "bytes", MEAN_MAX, "Swap used", "Swap in use, bytes."),
    Metric(HOST, "net_rx_bps", "net_rx_bps", "bps", MEAN_MAX, "Network received",
           "Bytes per second received, all interfaces."),
    Metric(HOST, "net_tx_bps", "net_tx_bps", "bps", MEAN_MAX, "Network sent",
           "Bytes per second sent, all interfaces."),
    Metric(HOST, "disk_read_bps", "disk_read_bps", "bps", MEAN_MAX, "Disk read",
           "Bytes per second read, all disks."),
    Metric(HOST, "disk_write_bps", "disk_write_bps", "bps", MEAN_MAX, "Disk write",
           "Bytes per second written, all disks."),
    # GPU (NVML)
    Metric(GPU, "util_pct", "util_pct", "pct", MEAN_MAX, "Utilization",
           "utilization.gpu: percent of time a kernel was running.", histogram="util"),
    Metric(GPU, "mem_util_pct", "mem_util_pct", "pct", MEAN_MAX, "Memory bandwidth",
           "utilization.memory: percent of time device memory was read or written."),
    Metric(GPU, "mem_used", "mem_used_bytes", "bytes", MEAN_MAX, "Memory used",
           "memory.used: device memory allocated, bytes."),
    Metric(GPU, "power_w", "power_w", "w", MEAN_MAX, "Power", "power.draw: watts drawn by the board."),
    Metric(GPU, "temp_c", "temp_c", "celsius", MEAN_MAX, "Temperature", "temperature.gpu: core temperature, °C."),
    Metric(GPU, "sm_clock_mhz", "sm_clock_mhz", "mhz", MEAN_MAX, "SM clock",
           "clocks.sm: streaming-multiprocessor clock, MHz."),
    Metric(GPU, "energy_j", "energy_j", "joules", ("increase",), "Energy used",
           "Energy used in each period, from the total_energy_consumption counter (joules since the driver loaded)."),
    # Inference server (its Prometheus metrics)
    Metric(SERVER, "running", "running", "count", MEAN_MAX, "Requests running",
           "Requests being processed."),
    Metric(SERVER, "waiting", "waiting", "count", MEAN_MAX, "Requests waiting",
           "Requests queued for a slot in the batch."),
    Metric(SERVER, "kv_cache_pct", "kv_cache_pct", "pct", MEAN_MAX, "KV cache used",
           "Percent of the KV-cache blocks in use.", histogram="kv"),
    Metric(SERVER, "batch_size", "batch_size", "ratio", MEAN_MAX, "Batch size",
           "Mean requests per engine step."),
    Metric(SERVER, "preempted", "preempted", "count", ("sum",), "Preemptions",
           "Requests preempted (evicted from the KV cache) in each period."),
    Metric(SERVER, "prompt_tps", "prompt_tps", "tps", MEAN_MAX, "Prompt tokens/s",
           "Prompt (prefill) tokens processed per second."),
    Metric(SERVER, "gen_tps", "gen_tps", "tps", MEAN_MAX, "Generated tokens/s",
           "Tokens generated per second."),
    Metric(SERVER, "requests_ps", "requests_ps", "per_s", MEAN_MAX, "Requests/s",
           "Requests finished per second."),
    Metric(SERVER, "queue_time_ms", "queue_time_ms", "ms", MEAN_MAX, "Queue time",
           "Mean time a request waited before it was scheduled."),
)  # fmt: skip

BY_KEY = {m.key: m for m in METRICS}


def of(entity: str) -> tuple[Metric, ...]:
    """The entity's metrics, in declaration order (the order of the store's columns)."""
    if entity not in ENTITIES:
        raise KeyError(entity)
    return tuple(m for m in METRICS if m.entity == entity)


def get(entity: str, wire: str) -> Metric:
    return BY_KEY[f"{entity}.{wire}"]


def store_columns(entity: str) -> list[tuple[str, str]]:
    """(column, wire field) pairs: what telemetry.store writes."""
    return [(m.column, m.wire) for m in of(entity)]


def rolled(entity: str, aggregate: str) -> tuple[str, ...]:
    """The raw columns that get a `<column>_<aggregate>` rollup column."""
    return tuple(m.column for m in of(entity) if aggregate in m.aggregates)


def histograms(entity: str) -> dict[str, str]:
    """raw column → histogram prefix."""
    return {m.column: m.histogram for m in of(entity) if m.histogram}


def chart_columns(entity: str) -> dict[str, tuple[str, str]]:
    """wire name → (raw column, rollup column): what a chart reads from each tier."""
    return {m.wire: (m.column, m.rollup_column(m.chart_aggregate)) for m in of(entity)}


def metadata(*entities: str) -> dict[str, dict]:
    """The series JSON's `metrics` block: {"gpu.util_pct": {label, unit, entity, description}, …}."""
    return {m.key: m.as_json() for m in METRICS if m.entity in (entities or ENTITIES)}
