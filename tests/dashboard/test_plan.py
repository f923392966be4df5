"""A deployment's plan as one story, and savings totals that never exceed the cost."""

from __future__ import annotations

import pytest

from dashboard import plan
from tests.dashboard import recs

pytestmark = pytest.mark.django_db

ALTERNATIVE = {
    **recs.config("L40S 48GB", 2, 1, "fp8", 2190.0, 500.0),
    "label": "cheaper GPU type",
    "saving_usd_month": 5110.0,
}


def _plan_of_chat():
    h = recs.host("chat-0", "chat", gpus=8, usd_month=14600.0)
    one = recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED, alternatives=[ALTERNATIVE])
    two = recs.rec("quantize", "chat", 2, recs.SCALED, recs.QUANTIZED)
    batching = recs.rec("batching", "chat", target_host=h, target_key="server:chat-0:vllm")
    hot = recs.rec("saturation", "chat", target_host=h)
    return h, one, two, batching, hot


def test_the_plan_reads_today_then_each_step_then_the_total(as_viewer):
    _, one, two, batching, hot = _plan_of_chat()
    p = plan.plan_of("chat")
    assert p.steps == [one, two] and p.today == recs.TODAY and p.final == recs.QUANTIZED
    assert p.saving_usd_month == 10950.0 and p.final_usd_month == 3650.0
    assert p.saving_kwh_month == 1500.0
    resp = as_viewer.get("/deployments/chat/")
    page = resp.content.decode()
    order = [page.index(s) for s in ("Today", "Step 1", "cheaper GPU type", "Step 2", "plan-total")]
    assert order == sorted(order)
    assert "$10,950" in page and "$3,650" in page and "$14,600" in page
    assert list(resp.context["recs"]) == [hot, batching]  # beside the plan, saturation first


def test_a_dismissed_step_stays_shown_but_leaves_the_total(as_viewer):
    _, one, two, *_ = _plan_of_chat()
    two.status = "dismissed"
    two.save()
    p = plan.plan_of("chat")
    assert p.steps == [one, two] and p.dismissed == [2]
    assert p.saving_usd_month == 7300.0 and p.final_usd_month == 7300.0
    assert "dismissed step 2 left out" in as_viewer.get("/deployments/chat/").content.decode()


def test_a_plan_that_draws_more_power_says_so(as_viewer):
    recs.host("big-0", "big", gpus=4, usd_month=14600.0)
    hungrier = {**recs.SCALED, "kwh_month": 2500.0}
    recs.rec("smaller_gpu", "big", 1, recs.TODAY, hungrier)
    assert plan.plan_of("big").saving_kwh_month == -400.0
    assert "draws 400 kWh more" in as_viewer.get("/deployments/big/").content.decode()


def test_savings_are_capped_at_each_deployments_cost():
    recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED)  # 7,300 of the 14,600 the plan says it costs
    recs.rec("quantize", "chat", 2, recs.SCALED, recs.QUANTIZED)  # 3,650
    recs.rec(
        "idle", "small", 1, recs.config("A10G", 1, 1, "bf16", 800.0, 90.0), recs.config("A10G", 1, 0, "bf16", 0.0, 0.0)
    )
    recs.rec("host_rightsize", "small", saving_usd_month=500.0)  # together 1,300 > its 800
    got = plan.capped_saving({"chat": 20000.0, "small": 800.0})
    assert got.usd_month == 10950.0 + 800.0 and got.capped and got.capped_deployments == ["small"]
    assert plan.capped_saving({"chat": 20000.0, "small": 5000.0}).capped is False
    whole = plan.capped_saving({"chat": 1000.0, "small": 100.0})  # the fleet's cost caps the sum
    assert whole.usd_month == 1100.0 and whole.capped


def test_the_recommendations_list_total_is_capped_per_deployment(as_viewer):
    recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED)  # 7,300
    recs.rec("quantize", "chat", 2, recs.SCALED, recs.QUANTIZED)  # 3,650: the plan adds up to 10,950 ≤ 14,600
    stale = recs.config("A10G", 1, 1, "bf16", 800.0, 90.0)  # a price changed since: two steps promising 1,200
    recs.rec("idle", "small", 1, stale, recs.config("A10G", 1, 0, "bf16", 0.0, 0.0))
    recs.rec("scale_down", "small", 2, stale, {**stale, "usd_month": 400.0})
    page = as_viewer.get("/recommendations/")
    assert page.context["totals"]["usd"] == 10950.0 + 800.0 and page.context["totals"]["capped"]
    assert "(capped at what it costs)" in page.content.decode()
    assert plan.capped_total(page.context["recs"]) == (11750.0, True)
