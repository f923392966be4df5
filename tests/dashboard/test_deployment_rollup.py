"""The deployment chart reads its own per-period sums, which the rollup job keeps equal to its hosts' rollups."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard import deployment_metrics, deployment_rollup
from dashboard.models import DeploymentRollup
from telemetry import registry
from telemetry.models import Gpu, GpuRollup, Host, HostRollup, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M

pytestmark = pytest.mark.django_db


def _span() -> tuple:
    now = timezone.now()
    return now - timedelta(days=3), now


def _same(a: dict, b: dict) -> bool:
    def close(x, y) -> bool:
        return (x is None) == (y is None) and (x is None or x == pytest.approx(y))

    return a.keys() == b.keys() and all(
        a[ts].keys() == b[ts].keys() and all(close(a[ts][c], b[ts][c]) for c in a[ts]) for ts in a
    )


def _ids(name: str) -> list[int]:
    return list(Host.objects.filter(deployment=name).values_list("pk", flat=True))


def test_the_rollup_job_keeps_each_deployments_sums_equal_to_its_hosts_rollups(fleet):
    lo, hi = _span()
    names = sorted(set(Host.objects.values_list("deployment", flat=True)))
    assert DeploymentRollup.objects.filter(period_s=PERIOD_1H).count() > 24 and len(names) >= 5
    compared = 0
    for period in (PERIOD_5M, PERIOD_1H):
        for name in names:
            kept = deployment_rollup.read(name, _ids(name), period, lo, hi)
            live = deployment_rollup._live(_ids(name), period, lo, hi)
            assert _same(kept, live), (name, period)
            compared += len(kept)
    assert compared > 1000
    # gen_tps where the deployment serves, a gap where it does not
    kept = deployment_rollup.read("chat-diurnal", _ids("chat-diurnal"), PERIOD_1H, lo, hi).values()
    assert any(v["gen_tps_sum"] for v in kept)
    # every column of the table is filled somewhere for a deployment with GPUs, a server and hosts
    assert {c for v in kept for c, x in v.items() if x is not None} == set(deployment_metrics.names())


def test_history_from_before_the_first_sum_is_read_from_the_hosts_rollups(fleet):
    lo, hi = _span()
    name = "chat-diurnal"
    live = deployment_rollup._live(_ids(name), PERIOD_1H, lo, hi)
    middle = sorted(live)[len(live) // 2]
    DeploymentRollup.objects.filter(ts__lt=middle).delete()  # as if the table began at `middle`
    DeploymentRollup.objects.filter(ts__gte=middle, deployment=name).update(gen_tps_sum=1.0)
    mixed = deployment_rollup.read(name, _ids(name), PERIOD_1H, lo, hi)
    assert _same({t: v for t, v in mixed.items() if t < middle}, {t: v for t, v in live.items() if t < middle})
    assert {v["gen_tps_sum"] for t, v in mixed.items() if t >= middle} == {1.0}
    DeploymentRollup.objects.all().delete()
    assert _same(deployment_rollup.read(name, _ids(name), PERIOD_1H, lo, hi), live)  # nothing kept yet: all live
    call_command("backfill_deployment_rollup", "--days", "4", stdout=StringIO())
    assert DeploymentRollup.objects.filter(deployment=name, period_s=PERIOD_1H).count() == len(live)
    assert _same(deployment_rollup.read(name, _ids(name), PERIOD_1H, lo, hi), live)


def test_a_hosts_late_rollup_sums_its_deployment_again_and_no_other(fleet):
    lo, hi = _span()
    host = Host.objects.get(deployment="chat-diurnal")
    GpuRollup.objects.filter(gpu__host=host, period_s=PERIOD_1H).update(util_pct_mean=50.0)
    before = {n: deployment_rollup.read(n, _ids(n), PERIOD_1H, lo, hi) for n in ("chat-diurnal", "oversized")}
    deployment_rollup.refresh(PERIOD_1H, lo, hi, host_id=host.pk)
    after = {n: deployment_rollup.read(n, _ids(n), PERIOD_1H, lo, hi) for n in ("chat-diurnal", "oversized")}
    gpus = host.gpus.count()
    assert (
        {v["util_pct_sum"] for v in after["chat-diurnal"].values()}
        == {50.0 * gpus}
        != {v["util_pct_sum"] for v in before["chat-diurnal"].values()}
    )
    assert after["oversized"] == before["oversized"]


def test_the_deployment_chart_shows_the_kept_sums(as_viewer, fleet):
    body = as_viewer.get("/deployments/chat-diurnal/series.json?range=7d").json()
    lo, hi = _span()
    kept = deployment_rollup.read("chat-diurnal", _ids("chat-diurnal"), PERIOD_1H, lo - timedelta(days=4), hi)
    assert body["range"]["tier"] == "1h" and len(body["t"]) == len(kept) > 24
    # the first period with both (the hosts' own rollups may begin a period before their GPUs')
    at, first = next((i, kept[ts]) for i, ts in enumerate(sorted(kept)) if None not in kept[ts].values())
    assert body["gpus_busy"][at] == round(first["util_pct_sum"] / 100, 3)
    assert body["gen_tps"][at] == round(first["gen_tps_sum"], 1)
    assert set(body["columns"]) == set(deployment_metrics.names())
    assert all(len(values) == len(body["t"]) for values in body["columns"].values())
    assert set(body["metrics"]) == {c.name for c in deployment_metrics.COLUMNS}


# Two hosts of one deployment, one GPU and one server each, in one hour: each column worked out by hand.
HOSTS = (
    {
        "cpu_pct_mean": 20.0,
        "mem_used_bytes_mean": 10e9,
        "mem_available_bytes_mean": 5e9,
        "swap_used_bytes_mean": 0.0,
        "net_rx_bps_mean": 100.0,
        "net_tx_bps_mean": 50.0,
        "disk_read_bps_mean": 10.0,
        "disk_write_bps_mean": 20.0,
    },
    {
        "cpu_pct_mean": 60.0,
        "mem_used_bytes_mean": 30e9,
        "mem_available_bytes_mean": 1e9,
        "swap_used_bytes_mean": 2e9,
        "net_rx_bps_mean": 300.0,
        "net_tx_bps_mean": 150.0,
        "disk_read_bps_mean": 30.0,
        "disk_write_bps_mean": 40.0,
    },
)
GPUS = (
    {
        "util_pct_mean": 50.0,
        "mem_util_pct_mean": 30.0,
        "mem_used_bytes_mean": 40e9,
        "power_w_mean": 300.0,
        "temp_c_mean": 60.0,
        "temp_c_max": 70.0,
        "sm_clock_mhz_mean": 1400.0,
        "energy_j_increase": 1.08e6,
    },
    {
        "util_pct_mean": 100.0,
        "mem_util_pct_mean": 70.0,
        "mem_used_bytes_mean": 20e9,
        "power_w_mean": 70.0,
        "temp_c_mean": 65.0,
        "temp_c_max": 81.0,
        "sm_clock_mhz_mean": 1800.0,
        "energy_j_increase": 2.52e5,
    },
)
SERVERS = (
    {
        "running_mean": 4.0,
        "waiting_mean": 1.0,
        "kv_cache_pct_mean": 40.0,
        "kv_cache_pct_max": 90.0,
        "batch_size_mean": 4.0,
        "preempted_sum": 3.0,
        "prompt_tps_mean": 1000.0,
        "gen_tps_mean": 200.0,
        "requests_ps_mean": 2.0,
        "queue_time_ms_mean": 100.0,
    },
    {
        "running_mean": 8.0,
        "waiting_mean": 3.0,
        "kv_cache_pct_mean": 80.0,
        "kv_cache_pct_max": 95.0,
        "batch_size_mean": 8.0,
        "preempted_sum": 0.0,
        "prompt_tps_mean": 3000.0,
        "gen_tps_mean": 600.0,
        "requests_ps_mean": 6.0,
        "queue_time_ms_mean": 500.0,
    },
)
EXPECTED = {
    "util_pct_sum": 150.0, "gpu_mem_util_pct_mean": 50.0, "gpu_mem_used_sum": 60e9, "gpu_mem_total_sum": 104e9,
    "gpu_power_w_sum": 370.0, "gpu_temp_c_max": 81.0, "gpu_sm_clock_mhz_mean": 1600.0, "gpu_energy_j_sum": 1.332e6,
    "server_running_sum": 12.0, "server_waiting_sum": 4.0, "server_kv_cache_pct_mean": 60.0,
    "server_kv_cache_pct_max": 95.0, "server_batch_size_mean": 6.0, "server_preempted_sum": 3.0,
    "server_prompt_tps_sum": 4000.0, "gen_tps_sum": 800.0, "server_requests_ps_sum": 8.0,
    "server_queue_time_ms_weighted": (100 * 2 + 500 * 6) / 8,  # 400 ms: the busier replica's wait counts 3×
    "host_cpu_pct_mean": 40.0, "host_mem_used_sum": 40e9, "host_mem_available_sum": 6e9, "host_swap_used_sum": 2e9,
    "host_net_rx_bps_sum": 400.0, "host_net_tx_bps_sum": 200.0, "host_disk_read_bps_sum": 40.0,
    "host_disk_write_bps_sum": 60.0,
}  # fmt: skip


def _pair(ts) -> list[int]:
    """The two hosts and their rollup rows at `ts`; an hour later only the servers report, with no request
    finished (the queue time's weight is 0: its plain mean)."""
    ids = []
    for i, (host, gpu, server) in enumerate(zip(HOSTS, GPUS, SERVERS, strict=True)):
        h = Host.objects.create(machine_id=f"pair-{i}", hostname=f"pair-{i}", deployment="pair")
        g = Gpu.objects.create(
            host=h, uuid=f"GPU-pair-{i}", index=0, name="NVIDIA H100", memory_total_bytes=(80e9, 24e9)[i]
        )
        s = InferenceServer.objects.create(host=h, server_id="vllm:8000", kind="vllm")
        rolled = {"period_s": PERIOD_1H, "samples": 12, "covered_s": 3600.0}
        HostRollup.objects.create(host=h, ts=ts, **rolled, **host)
        GpuRollup.objects.create(gpu=g, ts=ts, **rolled, **gpu)
        ServerRollup.objects.create(server=s, ts=ts, **rolled, **server)
        later = {**server, "requests_ps_mean": 0.0}
        ServerRollup.objects.create(server=s, ts=ts + timedelta(hours=1), **rolled, **later)
        ids.append(h.pk)
    return ids


def test_two_hosts_columns_are_their_sums_means_and_maxima_by_hand(as_viewer):
    now = timezone.now()
    ts = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    ids = _pair(ts)
    lo, hi = ts - timedelta(hours=1), ts + timedelta(hours=2)
    live = deployment_rollup._live(ids, PERIOD_1H, lo, hi)  # history from before the table: the same arithmetic
    deployment_rollup.refresh(PERIOD_1H, lo, hi)
    kept = deployment_rollup.read("pair", ids, PERIOD_1H, lo, hi)
    assert DeploymentRollup.objects.filter(deployment="pair").count() == 2 and _same(kept, live)
    assert kept[ts] == pytest.approx(EXPECTED) and set(EXPECTED) == set(deployment_metrics.names())
    later = kept[ts + timedelta(hours=1)]
    assert later["server_queue_time_ms_weighted"] == pytest.approx(300.0) and later["host_cpu_pct_mean"] is None

    body = as_viewer.get("/deployments/pair/series.json?range=7d").json()
    at = body["t"].index(int(ts.timestamp() * 1000))
    assert {c: v[at] for c, v in body["columns"].items()} == pytest.approx(EXPECTED)
    assert body["gpus_busy"][at] == 1.5 and body["metrics"]["server_queue_time_ms_weighted"]["unit"] == "ms"


def test_every_registry_metric_has_a_deployment_column_or_a_reason_it_has_none():
    covered = {c.metric.key for c in deployment_metrics.COLUMNS}
    assert covered | set(deployment_metrics.LEFT_OUT) == set(registry.BY_KEY)
    assert not covered & set(deployment_metrics.LEFT_OUT)
    assert len({c.name for c in deployment_metrics.COLUMNS}) == len(deployment_metrics.COLUMNS)
