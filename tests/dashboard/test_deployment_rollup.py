"""The deployment chart reads its own per-period sums, which the rollup job keeps equal to its hosts' rollups."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard import deployment_rollup
from dashboard.models import DeploymentRollup
from telemetry.models import GpuRollup, Host
from telemetry.models.rollups import PERIOD_1H, PERIOD_5M

pytestmark = pytest.mark.django_db


def _span() -> tuple:
    now = timezone.now()
    return now - timedelta(days=3), now


def _same(a: dict, b: dict) -> bool:
    def close(x, y) -> bool:
        return (x is None) == (y is None) and (x is None or x == pytest.approx(y))

    return a.keys() == b.keys() and all(close(x, y) for ts in a for x, y in zip(a[ts], b[ts], strict=True))


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
    assert any(v[1] for v in deployment_rollup.read("chat-diurnal", _ids("chat-diurnal"), PERIOD_1H, lo, hi).values())


def test_history_from_before_the_first_sum_is_read_from_the_hosts_rollups(fleet):
    lo, hi = _span()
    name = "chat-diurnal"
    live = deployment_rollup._live(_ids(name), PERIOD_1H, lo, hi)
    middle = sorted(live)[len(live) // 2]
    DeploymentRollup.objects.filter(ts__lt=middle).delete()  # as if the table began at `middle`
    DeploymentRollup.objects.filter(ts__gte=middle, deployment=name).update(gen_tps_sum=1.0)
    mixed = deployment_rollup.read(name, _ids(name), PERIOD_1H, lo, hi)
    assert _same({t: v for t, v in mixed.items() if t < middle}, {t: v for t, v in live.items() if t < middle})
    assert {v[1] for t, v in mixed.items() if t >= middle} == {1.0}
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
        {v[0] for v in after["chat-diurnal"].values()}
        == {50.0 * gpus}
        != {v[0] for v in before["chat-diurnal"].values()}
    )
    assert after["oversized"] == before["oversized"]


def test_the_deployment_chart_shows_the_kept_sums(as_viewer, fleet):
    body = as_viewer.get("/deployments/chat-diurnal/series.json?range=7d").json()
    lo, hi = _span()
    kept = deployment_rollup.read("chat-diurnal", _ids("chat-diurnal"), PERIOD_1H, lo - timedelta(days=4), hi)
    assert body["range"]["tier"] == "1h" and len(body["t"]) == len(kept) > 24
    first = kept[min(kept)]
    assert body["gpus_busy"][0] == round(first[0] / 100, 3) and body["gen_tps"][0] == round(first[1], 1)
