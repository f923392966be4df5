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


def _servers(h, n: int, gpus_each: int) -> None:
    from telemetry.models import InferenceServer

    gpus = list(h.gpus.order_by("index"))
    for i in range(n):
        s = InferenceServer.objects.create(host=h, server_id=f"vllm:{8000 + i}", kind="vllm", model="llama")
        s.gpus.set(gpus[i * gpus_each : (i + 1) * gpus_each])


def test_the_replica_header_counts_replicas_as_the_plan_does(as_viewer):
    two = recs.host("small-0", "two-replica-small", gpus=2, usd_month=1139.0)
    _servers(two, 2, 1)
    resp = as_viewer.get("/deployments/two-replica-small/")
    page = resp.content.decode()
    assert resp.context["replicas"] == 2 and "<b>2 replicas</b>" in page and "on 1 host ·" in page
    assert "1replicas" not in page
    one = recs.host("chat-0", "chat", gpus=1, usd_month=730.0)
    _servers(one, 1, 1)
    assert "<b>1 replica</b>" in as_viewer.get("/deployments/chat/").content.decode()
    recs.host("bare-0", "bare", gpus=2, usd_month=100.0)  # no server: its hosts with GPUs
    recs.host("bare-1", "bare", gpus=1, usd_month=100.0)
    assert as_viewer.get("/deployments/bare/").context["replicas"] == 2
    recs.host("cpu-0", "cpu", usd_month=100.0)  # no GPU at all: its hosts
    assert as_viewer.get("/deployments/cpu/").context["replicas"] == 1


def test_each_step_says_why_and_a_release_shows_no_price(as_viewer):
    recs.host("idle-0", "idle-gpu", gpus=1, usd_month=1788.5)
    today = recs.config("A100 80GB", 1, 1, "bf16", 1788.5, 90.0, price_basis="catalog A100 80GB $2.45/GPU-h")
    gone = {**recs.config("A100 80GB", 1, 0, "bf16", 0.0, 0.0), "gpus": 0.0, "summary": "nothing (released)"}
    gone["price_basis"] = "catalog A100 80GB $2.45/GPU-h"
    recs.rec("idle", "idle-gpu", 1, today, gone, reason="need 15.2 GiB (weights + KV cache); 20% slower per token")
    page = as_viewer.get("/deployments/idle-gpu/").content.decode()
    assert "Why: need 15.2 GiB (weights + KV cache); 20% slower per token" in page
    step = page[page.index('id="step-1"') : page.index('id="plan-total"')]
    assert "nothing (released)" in step and "$2.45/GPU-h" not in step and "$0.00/month" in step
    assert "$2.45/GPU-h" in page[: page.index('id="step-1"')]  # today keeps its price


def test_a_deployment_without_a_plan_says_why(as_viewer):
    hot = recs.host("hot-0", "saturated", gpus=1, usd_month=3474.8)
    recs.rec("saturation", "saturated", target_host=hot, title="add a replica")
    page = as_viewer.get("/deployments/saturated/").content.decode()
    assert "users are waiting (see below); sizing waits until that is fixed" in page
    assert "nothing to change" not in page
    slow = recs.host("batch-0", "batching-limited", gpus=1, usd_month=1788.5)
    recs.rec("batching", "batching-limited", target_host=slow, target_key="server:batch-0:vllm")
    page = as_viewer.get("/deployments/batching-limited/").content.decode()
    assert "sizing waits on the batching change below" in page and "nothing to change" not in page
    recs.host("calm-0", "calm", gpus=1, usd_month=100.0)
    page = as_viewer.get("/deployments/calm/").content.decode()
    assert "No plan: nothing to change in this deployment's GPUs right now." in page


def test_a_released_configuration_has_no_price_note_and_a_schedule_is_said_once(as_viewer):
    summary = "2 replicas × 1 H100 80GB during 10:00–15:00 UTC, 1 replica otherwise at bf16"
    schedule = {"peak_replicas": 2, "off_replicas": 1, "peak_hours_utc": list(range(10, 15)), "text": "10:00–15:00 UTC"}
    timed = {**recs.config("H100 80GB", 1, 2, "bf16", 4000.0, 500.0, schedule=schedule, summary=summary),
             "label": "on a schedule", "saving_usd_month": 100.0}  # fmt: skip
    gone = recs.config("H100 80GB", 4, 0, "bf16", 0.0, 0.0, summary="nothing (released)")
    rec = recs.rec("idle", "chat", 1, recs.TODAY, gone, alternatives=[timed])
    page = as_viewer.get(f"/recommendations/{rec.pk}/").content.decode()
    table = page.split('id="current-proposed"')[1].split("</table>")[0]
    assert table.count("catalog on-demand list price") == 1  # the current side only
    assert page.count("10:00–15:00 UTC") == 1 and "(10:00–15:00 UTC)" not in page
