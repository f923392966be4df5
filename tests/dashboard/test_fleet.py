"""The fleet list, the deployments list and a host page count their deployment's advice; totals stay under cost."""

from __future__ import annotations

import pytest

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
    assert rows["chat-1"].all_recs == 2 and rows["chat-1"].deployment_saving_usd_month == 10950.0
    assert rows["lonely"].all_recs == 0
    page = as_viewer.get("/?sort=-recs")
    assert [r.host.hostname for r in page.context["page"]] == ["chat-0", "chat-1", "lonely"]
    assert "$10,950" in page.content.decode()
    listed = as_viewer.get("/recommendations/?host=chat-1").context["recs"]
    assert {r.kind for r in listed} == {"scale_down", "quantize"}  # its deployment's plan, as counted


def test_the_deployments_list_counts_the_plan_and_shows_its_saving(as_viewer):
    _chat()
    groups = {g["name"]: g for g in as_viewer.get("/deployments/").context["groups"]}
    assert groups["chat"]["open_recs"] == 3 and groups["chat"]["saving_usd_month"] == 10950.0


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
