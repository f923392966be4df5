"""The metric registry against the wire decoder: every field the agent sends is stored, rolled up and charted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard import series
from dashboard.timerange import TimeRange
from telemetry import registry, schema, store, units, wire
from telemetry.models import GpuRollup, GpuSample, Host, HostRollup, HostSample, ServerRollup, ServerSample
from telemetry.models.rollups import ENTITY_ROLLUPS, PERIOD_1H, PERIOD_5M
from telemetry.rollups import TABLES, run_rollups
from tests.batches import GIB, batch, post

pytestmark = pytest.mark.django_db

# entity → (wire struct, pydantic model, keys that are not metrics)
READINGS = {
    registry.HOST: (wire.Sample, schema.Sample, {"ts", "gpus", "servers"}),
    registry.GPU: (wire.GpuReading, schema.GpuReading, {"uuid"}),
    registry.SERVER: (wire.ServerReading, schema.ServerReading, {"id"}),
}
RAW = {registry.HOST: HostSample, registry.GPU: GpuSample, registry.SERVER: ServerSample}
PAGES_JS = Path(__file__).resolve().parents[2] / "dashboard/static/dashboard/pages.js"
J = 250.0 * 5  # the energy counter's step: 250 W for 5 s


@pytest.mark.parametrize("entity", registry.ENTITIES)
def test_every_wire_field_has_one_registry_entry_and_every_entry_a_column(entity):
    struct, model, skip = READINGS[entity]
    fields = set(struct.__struct_fields__) - skip
    assert fields == set(model.model_fields) - skip  # the decoder and the contract agree
    assert {m.wire for m in registry.of(entity)} == fields  # a new wire field needs a registry entry
    raw = {f.column for f in RAW[entity]._meta.concrete_fields}
    assert {m.column for m in registry.of(entity)} <= raw
    columns = {"host": store.HOST_COLUMNS, "gpu": store.GPU_COLUMNS, "server": store.SERVER_COLUMNS}[entity]
    assert sorted(columns) == sorted((m.column, m.wire) for m in registry.of(entity))


@pytest.mark.parametrize("entity", registry.ENTITIES)
def test_every_entry_is_rolled_charted_and_described(entity):
    rollup = {f.column for f in ENTITY_ROLLUPS[entity]._meta.concrete_fields}
    table = next(t for t in TABLES if t.rollup is ENTITY_ROLLUPS[entity])
    rolled = {f"{c}_mean" for c in table.means} | {f"{c}_max" for c in table.maxes}
    rolled |= {f"{c}_sum" for c in table.sums} | {f"{c}_increase" for c in table.increases}
    pages = PAGES_JS.read_text()
    for m in registry.of(entity):
        assert m.aggregates and set(m.aggregates) <= set(registry.AGGREGATES), m.key
        assert {m.rollup_column(a) for a in m.aggregates} <= rolled <= rollup, m.key
        assert m.unit in {"pct", "bytes", "bps", "w", "celsius", "mhz", "joules", "per_s", "tps", "ms", "count",
                          "ratio"}, m.key  # fmt: skip
        assert m.label and m.description.endswith("."), m.key
        assert f'"{m.wire}"' in pages, f"{m.key} is drawn by no chart in pages.js"


def _every_field(start: float) -> dict:
    """20 minutes of 5-s samples with every wire field set; the energy counter resets at sample 150."""
    payload = batch(n_samples=240, start=start, interval_s=5)
    for i, s in enumerate(payload["samples"]):
        s.update(load1=1.5, mem_available=100 * GIB, swap_used=GIB, disk_read_bps=2e6, disk_write_bps=1e6)
        s["gpus"][0].update(mem_util_pct=40.0, sm_clock_mhz=1410.0,
                            energy_j=1e6 + J * i if i < 150 else J * (i - 150))  # fmt: skip
        s["servers"][0].update(requests_ps=4.0, queue_time_ms=80.0, preempted=1)
    return payload


def test_a_batch_with_every_field_is_stored_rolled_up_and_in_the_series(client, agent_token):
    start = (time.time() // 3600 - 2) * 3600
    post(client, agent_token[1], _every_field(start))
    run_rollups()
    for entity, raw in RAW.items():
        row = raw.objects.order_by("ts").last()
        assert all(getattr(row, m.column) is not None for m in registry.of(entity)), entity
    rows = {e: model.objects.filter(period_s=PERIOD_5M).order_by("ts").last() for e, model in ENTITY_ROLLUPS.items()}
    for m in registry.METRICS:
        for aggregate in m.aggregates:
            assert getattr(rows[m.entity], m.rollup_column(aggregate)) is not None, (m.key, aggregate)

    # Energy: what each 5 minutes used; the first sample and the reset add nothing.
    energy = list(GpuRollup.objects.filter(period_s=PERIOD_5M).order_by("ts").values_list("energy_j_increase"))
    assert [e for (e,) in energy] == [59 * J, 60 * J, 59 * J, 60 * J]
    assert GpuRollup.objects.get(period_s=PERIOD_1H).energy_j_increase == 238 * J
    assert ServerRollup.objects.get(period_s=PERIOD_1H).preempted_sum == 240
    hour = HostRollup.objects.get(period_s=PERIOD_1H)
    assert hour.disk_read_bps_mean == pytest.approx(2e6) and hour.swap_used_bytes_max == GIB

    host = Host.objects.get()
    lo = datetime.fromtimestamp(start, tz=UTC)
    for period in (None, PERIOD_5M):
        body = series.host_series(host, TimeRange(lo, lo + timedelta(minutes=20), period, "custom"))
        assert body["metrics"] == registry.metadata()
        for entity, cols in (("host", body["host"]), ("gpu", body["gpus"][0]), ("server", body["servers"][0])):
            for m in registry.of(entity):
                assert len(cols[m.wire]) == len(cols["t"]) and any(v is not None for v in cols[m.wire]), (period, m.key)
        used = body["gpus"][0]["energy_j"]
        if period is None:  # raw samples: what each 5 s used, from the running total
            assert used[0] is None and used[150] is None and set(used[1:150] + used[151:]) == {J}
        else:
            assert used == [59 * J, 60 * J, 59 * J, 60 * J]
    assert units.joules_to_wh(60 * J) == pytest.approx(20.833, rel=1e-3)
