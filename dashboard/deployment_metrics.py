"""What a deployment's chart shows of each registry metric: its hosts' values summed, averaged or maxed.

Derived from telemetry.registry by unit, so a metric added there gets its deployment column by the
same rule (and a migration): amounts that add up across hosts (bytes, watts, joules, rates, counts)
are summed; shares and levels (percent, MHz, batch size) are averaged; a temperature's hottest
reading is the one that matters. A few metrics say more than their unit (OVERRIDES), and one says
nothing summed over hosts (LEFT_OUT).

Each entry is one DeploymentRollup column, `<entity>_<wire>_<how>`, except the two the table began
with (`util_pct_sum`, `gen_tps_sum`), kept by their names.
"""

from __future__ import annotations

from dataclasses import dataclass

from telemetry import registry

SUM, MEAN, MAX, WEIGHTED = "sum", "mean", "max", "weighted"  # WEIGHTED: the mean weighted by requests/s

BY_UNIT = {"bytes": SUM, "bps": SUM, "w": SUM, "joules": SUM, "per_s": SUM, "tps": SUM, "count": SUM,
           "pct": MEAN, "mhz": MEAN, "ratio": MEAN, "ms": MEAN, "celsius": MAX}  # fmt: skip
OVERRIDES = {
    "gpu.util_pct": (SUM,),  # GPUs busy: Σ utilization ÷ 100
    "server.kv_cache_pct": (MEAN, MAX),  # the mean hides one replica that is full
    "server.queue_time_ms": (WEIGHTED,),  # a busy replica's wait counts for more requests
}
LEFT_OUT = {"host.load1": "a load average means something only beside its own host's CPU count"}
LEGACY = {("gpu.util_pct", SUM): "util_pct_sum", ("server.gen_tps", SUM): "gen_tps_sum"}
WEIGHT = "requests_ps"  # the server metric a WEIGHTED mean weighs by


@dataclass(frozen=True)
class Column:
    metric: registry.Metric
    how: str  # SUM, MEAN, MAX or WEIGHTED over the deployment's GPUs, servers or hosts

    @property
    def name(self) -> str:
        return LEGACY.get((self.metric.key, self.how), f"{self.metric.entity}_{self.metric.wire}_{self.how}")

    @property
    def source(self) -> str:
        """The rollup column read: the period's peak for MAX where there is one, else what a chart reads."""
        m = self.metric
        return (
            m.rollup_column("max") if self.how == MAX and "max" in m.aggregates else m.rollup_column(m.chart_aggregate)
        )

    @property
    def help_text(self) -> str:
        what = {SUM: "Σ", MEAN: "mean of", MAX: "max of", WEIGHTED: "requests/s-weighted mean of"}[self.how]
        return f"{what} {self.source} over its {self.metric.entity}s"

    def as_json(self) -> dict:
        return {**self.metric.as_json(), "wire": self.metric.wire, "how": self.how}


def _hows(metric: registry.Metric) -> tuple[str, ...]:
    return OVERRIDES.get(metric.key) or (BY_UNIT[metric.unit],)


COLUMNS: tuple[Column, ...] = tuple(
    Column(m, how) for m in registry.METRICS if m.key not in LEFT_OUT for how in _hows(m)
)
GPU_MEMORY_TOTAL = "gpu_mem_total_sum"  # Σ memory.total of the GPUs with rows in the period: the chart's capacity


def of(entity: str) -> tuple[Column, ...]:
    return tuple(c for c in COLUMNS if c.metric.entity == entity)


def names() -> list[str]:
    """Every value column of DeploymentRollup, in the order reads return them."""
    return [c.name for c in COLUMNS] + [GPU_MEMORY_TOTAL]
