"""The fleet list, the deployments list and a host page count their deployment's advice; totals stay under cost."""

from __future__ import annotations

import re

import pytest

from recommender.models import HostSummary
from telemetry.models import Gpu, InferenceServer
from tests.dashboard import recs

pytestmark = pytest.mark.django_db


def _chat():
    a = recs.host("chat-0", "chat", gpus=4, usd_month=7300.0)
    b = recs.host("chat-1", "chat", gpus=4, usd_month=7300.0)
    recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED)
    recs.rec("quantize", "chat", 2, recs.SCALED, recs.QUANTIZED)
    recs.rec("host_rightsize", "chat", target_host=a, saving_usd_month=40.0)
    return a, b


def test_the_fleet_rows_count_their_deployments_advice_with_its_saving(as_viewer):
    a, b = _chat()
    recs.host("lonely", "lonely", gpus=1, usd_month=2000.0)
    rows = {r.host.hostname: r for r in as_viewer.get("/").context["page"]}
    assert (rows["chat-0"].open_recs, rows["chat-0"].deployment_recs, rows["chat-0"].all_recs) == (1, 2, 3)
    assert rows["chat-1"].all_recs == 2 and rows["chat-1"].deployment_saving_usd_month == 10990.0  # plan + host's
    assert rows["lonely"].all_recs == 0
    page = as_viewer.get("/?sort=-recs")
    assert [r.host.hostname for r in page.context["page"]] == ["chat-0", "chat-1", "lonely"]
    assert "host's share $5,495" in page.content.decode()
    listed = as_viewer.get("/recommendations/?host=chat-1").context["recs"]
    assert {r.kind for r in listed} == {"scale_down", "quantize"}  # its deployment's plan, as counted


def test_the_deployments_list_counts_the_plan_and_shows_its_saving(as_viewer):
    _chat()
    groups = {g["name"]: g for g in as_viewer.get("/deployments/").context["groups"]}
    assert groups["chat"]["open_recs"] == 3 and groups["chat"]["plan_usd_month"] == 10950.0
    assert groups["chat"]["other_usd_month"] == 40.0 and groups["chat"]["saving_usd_month"] == 10990.0


def test_a_host_page_shows_its_deployments_plan_not_nothing_to_change(as_viewer):
    _, b = _chat()
    resp = as_viewer.get(f"/hosts/{b.pk}/")
    page = resp.content.decode()
    assert "Nothing to change" not in page
    assert 'id="deployment-plan"' in page and "/deployments/chat/#plan" in page and "$10,950" in page
    assert [r.kind for r in resp.context["recs"]] == ["scale_down", "quantize"]
    quiet = recs.host("quiet", "quiet", gpus=1, usd_month=100.0)
    assert "Nothing to change on this host or its deployment" in as_viewer.get(f"/hosts/{quiet.pk}/").content.decode()


def test_the_fleet_saving_is_capped_at_what_is_spent(as_viewer):
    recs.host("small-0", "small", gpus=1, usd_month=800.0)
    recs.rec(
        "idle", "small", 1, recs.config("A10G", 1, 1, "bf16", 800.0, 90.0), recs.config("A10G", 1, 0, "bf16", 0.0, 0.0)
    )
    recs.rec("host_rightsize", "small", saving_usd_month=500.0)
    resp = as_viewer.get("/")
    totals = resp.context["totals"]
    assert totals.saving_usd_month == 800.0 <= totals.usd_month and totals.saving_capped
    assert 'id="saving-capped"' in resp.content.decode()


def test_a_fleet_row_shows_its_hosts_share_of_the_deployments_saving_never_above_its_cost(as_viewer):
    recs.host("big-0", "big", gpus=8, usd_month=27798.0)
    recs.host("big-1", "big", gpus=8, usd_month=27798.0)
    big = recs.config("H100 80GB", 8, 2, "bf16", 55596.0, 9000.0)
    recs.rec("scale_down", "big", 1, big, recs.config("H100 80GB", 1, 2, "bf16", 6949.0, 1000.0))  # 48,647
    recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED)  # 7,300 over a 3 : 1 split of the cost
    recs.host("chat-0", "chat", gpus=4, usd_month=10950.0)
    recs.host("chat-1", "chat", gpus=4, usd_month=3650.0)
    resp = as_viewer.get("/")
    rows = {r.host.hostname: r for r in resp.context["page"]}
    assert rows["big-0"].saving_share_usd_month == rows["big-1"].saving_share_usd_month == 48647.0 / 2
    assert rows["big-0"].deployment_saving_usd_month == 48647.0  # the deployment's total, behind a link
    assert (rows["chat-0"].saving_share_usd_month, rows["chat-1"].saving_share_usd_month) == (5475.0, 1825.0)
    assert all(r.saving_share_usd_month <= r.summary.usd_month for r in rows.values())
    total = resp.context["totals"].saving_usd_month
    assert total == 48647.0 + 7300.0 == pytest.approx(sum(r.saving_share_usd_month for r in rows.values()))
    page = resp.content.decode()
    assert "host's share $24,324" in page and "of its deployment big's $48,647/month" in page
    assert "/deployments/big/#plan" in page


def test_a_hosts_open_recs_read_the_same_on_every_page_with_the_saving_beside(as_viewer):
    a, b = _chat()
    cpu = recs.host("cpu-0", "cpu-only", gpus=0, usd_month=700.0)
    recs.rec("host_rightsize", "cpu-only", target_host=cpu, saving_usd_month=300.0)
    fleet_rows = {r.host.hostname: r for r in as_viewer.get("/").context["page"]}
    dep = as_viewer.get("/deployments/chat/")
    dep_rows = {r.host.hostname: r for r in dep.context["rows"]}
    for name in ("chat-0", "chat-1"):
        assert fleet_rows[name].all_recs == dep_rows[name].all_recs
    assert (dep_rows["chat-0"].all_recs, dep_rows["chat-1"].all_recs) == (3, 2)
    page = dep.content.decode()
    assert f'?host={a.hostname}">3</a>' in page and f'?host={b.hostname}">2</a>' in page
    assert "host's share $5,495" in page
    host_page = as_viewer.get(f"/hosts/{a.pk}/").context["recs"]
    assert len(host_page) == fleet_rows["chat-0"].all_recs
    cpu_row = fleet_rows["cpu-0"]
    assert cpu_row.all_recs == 1 and cpu_row.saving_share_usd_month == 300.0  # the count with its saving
    assert "host's share $300" in as_viewer.get("/?q=cpu-0").content.decode()


def test_the_deployments_list_adds_the_advice_outside_the_plan_and_sums_to_the_fleet_total(as_viewer):
    _chat()  # a plan of 10,950 and a host_rightsize of 40
    small = recs.host("small-0", "small", gpus=1, usd_month=800.0)
    recs.rec(
        "idle", "small", 1, recs.config("A10G", 1, 1, "bf16", 800.0, 90.0), recs.config("A10G", 1, 0, "bf16", 0.0, 0.0)
    )
    recs.rec("host_rightsize", "small", target_host=small, saving_usd_month=500.0)  # together more than it costs
    resp = as_viewer.get("/deployments/")
    groups = {g["name"]: g for g in resp.context["groups"]}
    assert (groups["small"]["plan_usd_month"], groups["small"]["other_usd_month"]) == (800.0, 500.0)
    assert groups["small"]["saving_usd_month"] == 800.0 and groups["small"]["capped"]
    total = resp.context["total"]
    assert total["saving_usd_month"] == 10990.0 + 800.0 == as_viewer.get("/").context["totals"].saving_usd_month
    page = resp.content.decode()
    assert "Other advice / month" in page and 'id="deployments-total"' in page and "$11,790" in page


def test_a_host_page_counts_its_open_recs_as_the_fleet_does(as_viewer):
    a, _ = _chat()
    row = next(r for r in as_viewer.get("/").context["page"] if r.host.pk == a.pk)
    resp = as_viewer.get(f"/hosts/{a.pk}/")
    assert resp.context["row"].all_recs == row.all_recs == 3
    page = resp.content.decode()
    assert "3 open: 1 about this host or its GPUs, 2 of its deployment" in page
    assert "this host's share of the saving $5,495/month (of its deployment's $10,990)" in page


def test_the_deployments_list_shows_a_dash_not_zero_for_hosts_not_costed_yet(as_viewer):
    recs.host("new-0", "new", gpus=1)  # no summary yet
    recs.host("new-1", "new", gpus=1)
    resp = as_viewer.get("/deployments/")
    page = resp.content.decode()
    row = re.search(r"<tr>\s*<td><a href=\"/deployments/new/\">.*?</tr>", page, re.S).group(0)
    assert "$0.00" not in row and "—" in row and "2 new hosts costed within a minute" in row
    total = re.search(r'id="deployments-total-cost">(.*?)</td>', page, re.S).group(1)
    assert "$0.00" not in total and total.startswith("—") and "2 new hosts costed within a minute" in total


def test_the_deployments_list_costs_what_is_costed_and_notes_the_new_host(as_viewer):
    recs.host("chat-0", "chat", gpus=4, usd_month=7300.0)
    recs.host("chat-1", "chat", gpus=4)  # registered since the last summary
    page = as_viewer.get("/deployments/").content.decode()
    row = re.search(r"<tr>\s*<td><a href=\"/deployments/chat/\">.*?</tr>", page, re.S).group(0)
    assert "$7,300" in row and "1 new host costed within a minute" in row


def test_the_fleet_gpu_tile_shows_the_total_with_the_count_of_each_type(as_viewer):
    h = recs.host("mix-0", "mix", gpus=3, usd_month=100.0)
    Gpu.objects.create(uuid="GPU-mix-a10", host=h, index=3, name="NVIDIA A10G", memory_total_bytes=24 * recs.GIB)
    tile = re.search(r'id="fleet-gpus">(.*?)</div>', as_viewer.get("/").content.decode(), re.S).group(1)
    assert re.search(r"<b>\s*4\s*</b>", tile)
    assert "3 × NVIDIA H100 80GB HBM3" in tile and "1 × NVIDIA A10G" in tile


def test_a_host_pages_servers_name_their_gpus_by_index(as_viewer):
    h = recs.host("srv-0", "srv", gpus=2, usd_month=100.0)
    server = InferenceServer.objects.create(host=h, server_id="vllm:8000", kind="vllm", model="m")
    server.gpus.set(Gpu.objects.filter(host=h))
    page = as_viewer.get(f"/hosts/{h.pk}/").content.decode()
    table = re.search(r"<table>\s*<thead><tr><th>Server</th>.*?</table>", page, re.S).group(0)
    assert "<th>GPU</th>" in table and "GPU 0, GPU 1" in table


def _names(client, url: str) -> list[str]:
    return [r.host.hostname for r in client.get(url).context["page"]]


def _four_hosts():
    """Two costed hosts with one name in capitals, one not costed yet, one that never reported."""
    from recommender.models import HostSummary
    from telemetry.models import Host

    b = recs.host("b-2", "x", gpus=2, usd_month=100.0)
    a = recs.host("A-1", "y", gpus=1, usd_month=100.0)
    HostSummary.objects.filter(host=a).update(util_mean_pct=40.0, memory_need_bytes=40 * recs.GIB,
                                              gpu_memory_bytes=80 * recs.GIB)  # fmt: skip
    recs.host("c-3", "x", gpus=4)
    d = recs.host("d-4", "z")
    Host.objects.filter(pk=d.pk).update(last_seen=None, instance_type="p5.48xlarge", labels={"team": "Blue"})
    return a, b


def test_the_fleet_sorts_missing_values_first_and_ties_by_name_either_way(as_viewer):
    a, b = _four_hosts()
    recs.rec("host_rightsize", "x", target_host=b, saving_usd_month=10.0)
    recs.rec("batching", "y")  # the deployment's own advice counts on its hosts' rows
    recs.rec("saturation", "y")
    assert _names(as_viewer, "/") == ["A-1", "b-2", "c-3", "d-4"]  # any case
    assert _names(as_viewer, "/?sort=-hostname") == ["d-4", "c-3", "b-2", "A-1"]
    assert _names(as_viewer, "/?sort=cost") == ["c-3", "d-4", "A-1", "b-2"]  # not costed: below every cost
    assert _names(as_viewer, "/?sort=-cost") == ["A-1", "b-2", "c-3", "d-4"]  # ties keep the name order
    assert _names(as_viewer, "/?sort=gpus") == ["c-3", "d-4", "A-1", "b-2"]
    assert _names(as_viewer, "/?sort=-need") == ["A-1", "b-2", "c-3", "d-4"]
    assert _names(as_viewer, "/?sort=-util") == ["A-1", "b-2", "c-3", "d-4"]
    assert _names(as_viewer, "/?sort=status") == ["d-4", "A-1", "b-2", "c-3"]  # never seen < online
    assert _names(as_viewer, "/?sort=seen")[0] == "d-4" and _names(as_viewer, "/?sort=-seen")[-1] == "d-4"
    assert _names(as_viewer, "/?sort=-recs") == ["A-1", "b-2", "c-3", "d-4"]  # 2, 1, 0, 0
    assert _names(as_viewer, "/?sort=deployment") == ["b-2", "c-3", "A-1", "d-4"]


def test_the_fleet_search_matches_labels_gpu_types_and_instance_types_in_any_case(as_viewer):
    from recommender.models import HostSummary

    a, _ = _four_hosts()
    HostSummary.objects.filter(host=a).update(gpu_types="1× NVIDIA H100 80GB HBM3")
    assert _names(as_viewer, "/?q=TEAM%3Dblue") == ["d-4"]  # the label as the row shows it: key=value
    assert _names(as_viewer, "/?q=+h100+") == ["A-1"]  # spaces around the words are trimmed
    assert _names(as_viewer, "/?q=P5.48") == ["d-4"]
    assert _names(as_viewer, "/?q=m-c-3") == ["c-3"]  # the machine id
    assert _names(as_viewer, "/?q=%25") == [] and _names(as_viewer, "/?q=_") == []  # literal, not wildcards
    assert _names(as_viewer, "/?label=team") == ["d-4"]  # the key alone: any value
    assert _names(as_viewer, "/?label=team%3DBlue") == ["d-4"] and _names(as_viewer, "/?label=team%3Dblue") == []
    assert _names(as_viewer, "/?label=deployment%3Dx") == ["b-2", "c-3"]
    assert _names(as_viewer, "/?status=never+seen") == ["d-4"] and _names(as_viewer, "/?status=bogus") == []
    resp = as_viewer.get("/?deployment=x&sort=-cost")
    assert [r.host.hostname for r in resp.context["page"]] == ["b-2", "c-3"]
    assert resp.context["totals"].hosts == 4 and resp.context["totals"].pending_hosts == 2  # the fleet's, whole
    assert resp.context["deployments"] == ["x", "y", "z"]
    assert resp.context["labels"] == ["deployment=x", "deployment=y", "team=Blue"]


def test_the_fleet_pages_count_what_the_filters_leave(as_viewer, monkeypatch):
    monkeypatch.setattr("dashboard.views.fleet.PAGE_SIZE", 2)
    _four_hosts()
    assert _names(as_viewer, "/?page=2") == ["c-3", "d-4"]
    assert _names(as_viewer, "/?page=99") == ["c-3", "d-4"] and _names(as_viewer, "/?page=x") == ["A-1", "b-2"]
    assert _names(as_viewer, "/?sort=-hostname&page=2") == ["b-2", "A-1"]
    page = as_viewer.get("/").content.decode()
    assert "page 1 of 2 · 4 hosts" in page and "&page=2" in page
    filtered = as_viewer.get("/?q=-&status=online&page=2")  # c-3 is online, d-4 never seen
    assert [r.host.hostname for r in filtered.context["page"]] == ["c-3"]
    assert "page 2 of 2 · 3 hosts" in filtered.content.decode()


def test_the_fleet_idle_tile_agrees_in_number(as_viewer):
    h = recs.host("idle-0", "idle", gpus=2, usd_month=100.0)
    HostSummary.objects.filter(host=h).update(idle_gpus=1)
    assert "idle GPU (last 24 h)" in as_viewer.get("/").content.decode()
    HostSummary.objects.filter(host=h).update(idle_gpus=2)
    assert "idle GPUs (last 24 h)" in as_viewer.get("/").content.decode()


def test_the_deployments_list_and_a_deployment_page_cost_the_same_queries_for_few_or_many_hosts(as_viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(first: int, last: int) -> None:
        for i in range(first, last):
            h = recs.host(f"wide-{i}", "wide", gpus=1, usd_month=100.0)
            recs.rec("host_rightsize", "wide", target_host=h, saving_usd_month=5.0)
            recs.host(f"own-{i}", f"own-{i}", gpus=1, usd_month=50.0)  # a deployment of one

    def reads(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_viewer.get(url).status_code == 200
        control = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT", "SET LOCAL")
        return len([q for q in ctx.captured_queries if not q["sql"].startswith(control)])

    add(0, 3)
    few = reads("/deployments/"), reads("/deployments/wide/")
    add(3, 30)
    assert (reads("/deployments/"), reads("/deployments/wide/")) == few
    groups = {g["name"]: g for g in as_viewer.get("/deployments/").context["groups"]}
    assert len(groups) == 31 and groups["wide"]["hosts"] == 30 and groups["wide"]["open_recs"] == 30
    assert groups["wide"]["usd_month"] == 3000.0 and groups["wide"]["saving_usd_month"] == 150.0


def test_the_deployments_list_tags_a_deployment_only_when_all_its_hosts_are_simulated(as_viewer):
    from telemetry.models import Host

    a = recs.host("sim-0", "sim", gpus=1, usd_month=10.0)
    b = recs.host("mixed-0", "mixed", gpus=1, usd_month=10.0)
    recs.host("mixed-1", "mixed", gpus=1, usd_month=10.0)
    Host.objects.filter(pk__in=[a.pk, b.pk]).update(labels={"simulated": "true"})
    groups = {g["name"]: g for g in as_viewer.get("/deployments/").context["groups"]}
    assert groups["sim"]["simulated"] and not groups["mixed"]["simulated"]


def test_a_deployments_cost_per_million_tokens_reads_its_own_hourly_rollup(as_viewer):
    from datetime import timedelta

    from django.utils import timezone

    from dashboard.models import DeploymentRollup
    from recommender.savings import HOURS_PER_MONTH
    from telemetry.models.rollups import PERIOD_1H

    recs.host("chat-0", "chat", gpus=1, usd_month=730.0)
    recs.host("chat-1", "chat", gpus=1, usd_month=1460.0)
    recs.host("chat-new", "chat", gpus=1)  # no summary yet: no price
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for back, tps in ((1, 1000.0), (2, 500.0), (3, None), (8 * 24, 9999.0)):  # the last: before the week
        DeploymentRollup.objects.create(deployment="chat", period_s=PERIOD_1H, ts=hour - timedelta(hours=back),
                                        gen_tps_sum=tps)  # fmt: skip
    DeploymentRollup.objects.create(deployment="other", period_s=PERIOD_1H, ts=hour - timedelta(hours=1),
                                    gen_tps_sum=7.0)  # fmt: skip
    resp = as_viewer.get("/deployments/chat/")
    cost = resp.context["cost"]
    usd_hour = (730.0 + 1460.0) / HOURS_PER_MONTH
    assert cost["hours"] == 3 and cost["tokens"] == 1500.0 * 3600 and cost["usd_hour"] == pytest.approx(usd_hour)
    assert cost["usd"] == pytest.approx(3 * usd_hour)
    assert cost["usd_per_million"] == pytest.approx(3 * usd_hour / 5.4)
    assert "3 hours with data × $3.00/hour (its hosts today)" in resp.content.decode()
    DeploymentRollup.objects.filter(deployment="chat").update(gen_tps_sum=None)
    assert as_viewer.get("/deployments/chat/").context["cost"] is None  # no tokens: a dash, not infinity
