"""What each page shows and refuses, with the simulated fleet behind it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.models import HostSummary, Recommendation
from telemetry import registry
from telemetry.models import Gpu, Host

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_viewer(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


def _hostnames(resp) -> list[str]:
    return [r.host.hostname for r in resp.context["page"]]


# These two need an empty database, so they run before the module builds its fleet.
def test_the_fleet_page_costs_the_same_queries_for_ten_or_a_hundred_hosts(as_viewer, agent_token, client):
    from tests.batches import batch, gpu_info, post

    def add(n_from: int, n_to: int) -> None:
        for i in range(n_from, n_to):
            gpus = [gpu_info(uuid=f"GPU-q{i}-{j}", index=j) for j in range(2)]
            post(client, agent_token[1], batch(machine_id=f"q{i}", hostname=f"q-{i:03d}", gpus=gpus))

    add(0, 10)
    with CaptureQueriesContext(connection) as small:
        assert as_viewer.get("/").status_code == 200
    add(10, 100)
    with CaptureQueriesContext(connection) as large:
        assert as_viewer.get("/").status_code == 200
    # session, user, the deployments' figures, saving and advice, GPU types, labels, the page's hosts, the
    # banner and cards; on PostgreSQL the fleet's reads run in a transaction without JIT (dashboard.fleet),
    # whose statements are not counted here
    assert len(_reads(large)) == len(_reads(small)) <= 12


def _reads(ctx) -> list[dict]:
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT", "SET LOCAL")
    return [q for q in ctx.captured_queries if not q["sql"].startswith(control)]


def test_a_new_install_explains_how_to_add_the_first_host(as_admin):
    page = as_admin.get("/").content.decode()
    assert "Add your first host" in page and "rightsizer-agent run" in page and "/settings/#agent-tokens" in page


def test_the_fleet_page_totals_add_up_from_the_summaries(as_viewer, fleet):
    resp = as_viewer.get("/")
    totals = resp.context["totals"]
    summaries = list(HostSummary.objects.all())
    n = Host.objects.count()
    assert n >= 9 and totals.hosts == n and totals.online == n and totals.offline == 0
    assert totals.usd_month == pytest.approx(sum(s.usd_month for s in summaries if s.usd_month))
    h100 = Gpu.objects.filter(active=True, name="NVIDIA H100 80GB HBM3").count()
    assert h100 >= 9 and dict(totals.gpus_by_type)["NVIDIA H100 80GB HBM3"] == h100
    open_saving = sum(r.saving_usd_month for r in Recommendation.objects.filter(status__in=["open", "acknowledged"]))
    assert 0 < totals.saving_usd_month <= min(open_saving, totals.usd_month) + 0.01  # capped per deployment
    assert totals.idle_gpus >= 1  # the idle-gpu archetype
    assert totals.energy_kwh_month > 0


def test_the_fleet_page_searches_filters_and_sorts(as_viewer, fleet):
    assert _hostnames(as_viewer.get("/?q=SATURATED")) == ["sim-saturated-00005"]
    assert _hostnames(as_viewer.get("/?deployment=idle-gpu")) == ["sim-idle-gpu-00001"]
    assert len(_hostnames(as_viewer.get("/?label=simulated=true"))) == Host.objects.count()
    assert _hostnames(as_viewer.get("/?label=deployment=oversized")) == ["sim-oversized-00002"]
    assert _hostnames(as_viewer.get("/?status=offline")) == []
    by_cost = as_viewer.get("/?sort=-cost").context["page"]
    assert by_cost[0].host.hostname == "sim-oversized-00002"
    costs = [r.summary.usd_month for r in by_cost]
    assert costs == sorted(costs, reverse=True)
    assert [r.summary.usd_month for r in as_viewer.get("/?sort=cost").context["page"]] == costs[::-1]
    by_util = as_viewer.get("/?sort=-util").context["page"]
    assert by_util[0].host.hostname == "sim-saturated-00005"
    resp = as_viewer.get("/?sort=nonsense")
    assert resp.status_code == 200 and resp.context["sort"] == "hostname"


def test_a_host_that_stopped_reporting_shows_offline(as_viewer, fleet, settings):
    from datetime import timedelta

    from django.utils import timezone

    Host.objects.filter(hostname="sim-idle-gpu-00001").update(last_seen=timezone.now() - timedelta(hours=1))
    assert _hostnames(as_viewer.get("/?status=offline")) == ["sim-idle-gpu-00001"]
    assert as_viewer.get("/").context["totals"].offline == 1


def test_the_deployment_page_shows_replicas_recommendations_and_token_cost(as_viewer, fleet):
    resp = as_viewer.get("/deployments/chat-diurnal/")
    assert resp.status_code == 200 and resp.context["replicas"] == 1
    cost = resp.context["cost"]
    assert (
        cost is not None
        and cost["tokens"] > 0
        and cost["usd_per_million"] == pytest.approx(cost["usd"] / (cost["tokens"] / 1e6))
    )
    series = as_viewer.get("/deployments/chat-diurnal/series.json?range=24h").json()
    assert series["range"]["tier"] == "5m" and len(series["t"]) > 200
    assert max(v for v in series["gpus_busy"] if v is not None) <= 1.0  # one GPU: at most one busy
    assert as_viewer.get("/deployments/no-such/").status_code == 404
    assert as_viewer.get("/deployments/no-such/series.json").status_code == 404
    groups = {g["name"]: g for g in as_viewer.get("/deployments/").context["groups"]}
    deployments = set(Host.objects.values_list("deployment", flat=True))
    assert groups["oversized"]["gpus"] == 8 and len(groups) == len(deployments)


def test_the_host_series_reads_the_tier_that_fits_the_range(as_viewer, fleet):
    host = Host.objects.get(hostname="sim-oversized-00002")
    url = f"/hosts/{host.pk}/series.json"
    for name, tier in (("1h", "raw"), ("24h", "5m"), ("7d", "1h"), ("30d", "1h")):
        body = as_viewer.get(f"{url}?range={name}").json()
        assert body["range"]["tier"] == tier, name
        assert len(body["gpus"]) == 8 and len(body["servers"]) == 1
        assert len(body["host"]["t"]) <= 1000
    day = as_viewer.get(f"{url}?range=24h").json()
    gpu = day["gpus"][0]
    assert len(gpu["t"]) == len(gpu["util_pct"]) == len(gpu["mem_used"]) == len(gpu["power_w"]) > 250
    assert gpu["need"] is not None and "weights + KV cache" in gpu["need_basis"]
    assert gpu["memory_total"] == 80 * 1024**3 or gpu["memory_total"] > 70e9
    need_points = [v for v in gpu["need"]["v"] if v is not None]
    assert need_points and all(0 < v < gpu["memory_total"] for v in need_points)


def _every_metric_drawn(entity: str, cols: dict) -> None:
    """Each registry metric of the entity has a column as long as the times, with values in it."""
    for m in registry.of(entity):
        assert len(cols[m.wire]) == len(cols["t"]) > 0, m.key
        assert any(v is not None for v in cols[m.wire]), m.key


def test_the_host_series_carries_every_registry_metric_with_its_label_and_unit(as_viewer, fleet):
    host = Host.objects.get(hostname="sim-oversized-00002")
    body = as_viewer.get(f"/hosts/{host.pk}/series.json?range=24h").json()
    assert body["metrics"]["gpu.temp_c"] == {"label": "Temperature", "unit": "celsius", "entity": "gpu",
                                             "description": registry.get("gpu", "temp_c").description}  # fmt: skip
    assert set(body["metrics"]) == {m.key for m in registry.METRICS}
    _every_metric_drawn("host", body["host"])
    assert body["host"]["cpu_count"] == 32
    for gpu in body["gpus"]:
        _every_metric_drawn("gpu", gpu)
        assert gpu["servers"] == ["vllm:8000"]
    _every_metric_drawn("server", body["servers"][0])
    assert body["servers"][0]["gpus"] == list(range(8))
    # The simulator's energy counter adds each sample's power for the 300 s since the one before: each 5-minute
    # row (one sample) used its own power × 300 s, more by day than by night.
    gpu = body["gpus"][0]
    energy = [(e, p) for e, p in zip(gpu["energy_j"], gpu["power_w"], strict=True) if e is not None]
    assert energy and all(e == pytest.approx(p * 300, rel=1e-3) for e, p in energy)
    assert max(e for e, _ in energy) > 1.05 * min(e for e, _ in energy)
    assert max(body["gpus"][0]["temp_c"]) < 100 and min(v for v in body["gpus"][0]["sm_clock_mhz"] if v) >= 345


def test_a_gpu_page_shows_its_servers_and_its_series_every_nvml_metric(as_viewer, fleet):
    host = Host.objects.get(hostname="sim-oversized-00002")
    page = as_viewer.get(f"/hosts/{host.pk}/gpus/3/").content.decode()
    assert "GPU 3 · NVIDIA H100" in page and "vllm:8000" in page
    assert f'data-series="/hosts/{host.pk}/gpus/3/series.json"' in page
    body = as_viewer.get(f"/hosts/{host.pk}/gpus/3/series.json?range=1h").json()
    assert body["range"]["tier"] == "raw" and body["gpu"]["index"] == 3
    _every_metric_drawn("gpu", body["gpu"])
    assert body["gpu"]["energy_j"][0] is None  # raw samples: the first has no previous one to subtract
    assert [s["id"] for s in body["servers"]] == ["vllm:8000"]
    assert set(body["metrics"]) == {m.key for m in registry.METRICS if m.entity != "host"}
    host_page = as_viewer.get(f"/hosts/{host.pk}/").content.decode()
    assert host_page.count('<tr data-gpu-index="') == 8 and f'href="/hosts/{host.pk}/gpus/7/"' in host_page
    assert as_viewer.get(f"/hosts/{host.pk}/gpus/8/").status_code == 404
    assert as_viewer.get(f"/hosts/{host.pk}/gpus/8/series.json").json()["detail"] == f"No GPU 8 on host {host.pk}."
    assert as_viewer.get("/hosts/999/gpus/0/series.json").status_code == 404


def test_a_server_id_shows_its_kind_only_where_it_does_not_name_it(as_viewer, fleet):
    """'vllm:8000' says vLLM already; an id the operator chose ('api') gets its kind, as the advice writes it."""
    host = Host.objects.get(hostname="sim-oversized-00002")
    for url in (f"/hosts/{host.pk}/", f"/hosts/{host.pk}/gpus/3/"):
        page = as_viewer.get(url).content.decode()
        assert "<code>vllm:8000</code>" in page and "(vllm)" not in page and "(vLLM)" not in page, url
    host.servers.filter(server_id="vllm:8000").update(server_id="api", kind="tgi")
    for url in (f"/hosts/{host.pk}/", f"/hosts/{host.pk}/gpus/3/"):
        assert "<code>api</code> (TGI)" in as_viewer.get(url).content.decode(), url


@pytest.mark.parametrize("query, message", [
    ("range=2y", "unknown range"), ("from=10", "needs both"), ("from=abc&to=5", "Unix seconds"),
    ("from=2000&to=1000", "before"), ("from=0&to=99999999", "at most 400 days"),
])  # fmt: skip
def test_a_bad_range_is_a_400_that_says_what_to_fix(as_viewer, fleet, query, message):
    host = Host.objects.first()
    resp = as_viewer.get(f"/hosts/{host.pk}/series.json?{query}")
    assert resp.status_code == 400 and message in resp.json()["detail"]


def test_an_unknown_host_is_a_404(as_viewer, db):
    assert as_viewer.get("/hosts/999/").status_code == 404
    assert as_viewer.get("/hosts/999/series.json").json()["detail"] == "No host with id 999."


def test_a_host_without_gpu_has_no_gpu_series(as_viewer, fleet):
    host = Host.objects.get(hostname="sim-cpu-only-00008")
    page = as_viewer.get(f"/hosts/{host.pk}/").content.decode()
    assert "reports no GPU" in page and 'id="gpu-charts"' not in page
    body = as_viewer.get(f"/hosts/{host.pk}/series.json?range=24h").json()
    assert body["gpus"] == [] and len(body["host"]["cpu_pct"]) > 250


def test_times_are_shown_in_the_zone_the_browser_reports(as_viewer, fleet):
    host = Host.objects.get(hostname="sim-idle-gpu-00001")
    as_viewer.cookies["tz"] = "Asia/Tokyo"
    page = as_viewer.get(f"/hosts/{host.pk}/").content.decode()
    from zoneinfo import ZoneInfo

    local = host.last_seen.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    assert 'id="viewer-zone">Asia/Tokyo<' in page and local in page
    as_viewer.cookies["tz"] = "Mars/Olympus"
    page = as_viewer.get(f"/hosts/{host.pk}/").content.decode()
    assert 'id="viewer-zone">UTC<' in page and host.last_seen.strftime("%Y-%m-%d %H:%M") in page
