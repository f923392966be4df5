"""Recommendations (filters, CSV, evidence, lifecycle actions), settings forms and the planner: good and bad input."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils.html import escape

from recommender.models import DeploymentThresholds, GpuType, HostPrice, Recommendation
from recommender.savings import steps_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


def test_the_list_is_sorted_by_impact_filtered_and_totalled(as_admin, fleet):
    resp = as_admin.get("/recommendations/")
    recs = list(resp.context["recs"])
    savings = [r.saving_usd_month for r in recs]
    urgent = [r.kind != "saturation" for r in recs]
    assert urgent == sorted(urgent) and urgent[0] is False  # saturation above any saving
    money = [r.saving_usd_month for r in recs if r.kind != "saturation"]
    assert money == sorted(money, reverse=True) and len(recs) == Recommendation.objects.count()
    assert resp.context["totals"]["usd"] == pytest.approx(sum(savings))
    idle = as_admin.get("/recommendations/?kind=idle").context["recs"]
    assert idle and all(r.kind == "idle" for r in idle)
    by_host = as_admin.get("/recommendations/?host=sim-saturated-00005").context["recs"]
    assert by_host and all(
        (r.host and r.host.hostname == "sim-saturated-00005")
        or (r.target_type == "deployment" and r.deployment == "saturated")
        for r in by_host
    )  # the host's own advice and its deployment's
    by_dep = as_admin.get("/recommendations/?deployment=idle-gpu").context["recs"]
    assert by_dep and all(r.deployment == "idle-gpu" for r in by_dep)
    assert list(as_admin.get("/recommendations/?status=dismissed").context["recs"]) == []
    bad = as_admin.get("/recommendations/?kind=nonsense&status=nonsense")
    expected = {"kind": "", "status": "pending", "deployment": "", "host": "", "q": "", "sort": "impact"}
    assert bad.context["params"] == expected


def test_the_csv_export_has_every_filtered_row_and_defuses_formulas(as_admin, fleet):
    rec = Recommendation.objects.first()
    Recommendation.objects.filter(pk=rec.pk).update(title='=HYPERLINK("http://x")')
    resp = as_admin.get("/recommendations.csv")
    assert resp["Content-Type"].startswith("text/csv") and "attachment" in resp["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert len(rows) == Recommendation.objects.count()
    mine = next(r for r in rows if r["id"] == str(rec.pk))
    assert mine["title"].startswith("'=")
    assert float(mine["saving_usd_month"]) == pytest.approx(rec.saving_usd_month)
    idle = list(csv.DictReader(io.StringIO(as_admin.get("/recommendations.csv?kind=idle").content.decode())))
    assert idle and {r["kind"] for r in idle} == {"idle"}


def test_the_evidence_comes_with_hourly_series_against_the_threshold(as_admin, fleet):
    rec = next(
        r
        for r in Recommendation.objects.filter(kind="idle", deployment="idle-gpu")
        if any((e["series"] or {}).get("metric") == "util_pct" for e in r.evidence)
    )
    items = as_admin.get(f"/recommendations/{rec.pk}/evidence.json").json()["items"]
    assert len(items) == len(rec.evidence)
    util = next(i for i, e in zip(items, rec.evidence, strict=True) if (e["series"] or {}).get("metric") == "util_pct")
    assert util["threshold"] == 5 and util["series"] is not None
    assert len(util["series"]["t"]) >= 40 and max(util["series"]["peak"]) < 5
    page = as_admin.get(f"/recommendations/{rec.pk}/").content.decode()
    assert all(f"<li>{escape(step)}</li>" in page for step in steps_of(rec.saving_basis))  # one step a bullet
    host = Recommendation.objects.get(kind="host_rightsize")
    steps = steps_of(host.saving_basis)
    assert len(steps) == 3 and steps[-1] == "Energy not measured for CPUs."  # price, vCPU-equivalents, energy
    page = as_admin.get(f"/recommendations/{host.pk}/").content.decode()
    assert all(f"<li>{escape(step)}</li>" in page for step in steps)
    assert as_admin.get("/recommendations/9999/evidence.json").status_code == 404


def test_acknowledge_dismiss_and_reopen_keep_who_and_why(as_admin, fleet, admin):
    rec = Recommendation.objects.filter(status="open").first()
    url = f"/recommendations/{rec.pk}/status"
    resp = as_admin.post(url, {"action": "dismiss", "reason": "   "}, follow=True)
    assert "say why you dismiss it" in resp.content.decode().lower()
    rec.refresh_from_db()
    assert rec.status == "open"
    as_admin.post(url, {"action": "acknowledge"})
    rec.refresh_from_db()
    assert rec.status == "acknowledged" and rec.status_changed_by == admin
    as_admin.post(url, {"action": "dismiss", "reason": "kept for the launch"})
    rec.refresh_from_db()
    assert rec.status == "dismissed" and rec.status_reason == "kept for the launch"
    assert rec.dismissed_saving_usd == rec.saving_usd_month
    as_admin.post(url, {"action": "reopen"})
    rec.refresh_from_db()
    assert rec.status == "open" and rec.dismissed_saving_usd is None
    resp = as_admin.post(url, {"action": "resolve"}, follow=True)
    assert "Unknown action" in resp.content.decode()
    assert as_admin.get(url).status_code == 405
    resp = as_admin.post(url, {"action": "acknowledge", "next": "https://evil.example/"})
    assert resp["Location"] == f"/recommendations/{rec.pk}/"


def test_settings_forms_refuse_bad_input_and_keep_nothing(as_admin, fleet):
    resp = as_admin.post("/settings/thresholds", {"deployment": "chat", "target_util_pct": "five"})
    assert resp.status_code == 400 and "A number, between 10 and 100 %." in resp.content.decode()
    resp = as_admin.post("/settings/thresholds", {"deployment": "", "target_util_pct": "60"})
    assert resp.status_code == 400 and "Pick the deployment" in resp.content.decode()
    resp = as_admin.post("/settings/thresholds", {"deployment": "chat", "window_days": "3"})  # fleet-wide only
    assert resp.status_code == 302  # not a field of the form: ignored, and nothing to override
    assert not DeploymentThresholds.objects.exists()
    resp = as_admin.post("/settings/host-prices", {"hostname": "nowhere", "hourly_usd": "3"})
    assert resp.status_code == 400 and "No host named" in resp.content.decode()
    resp = as_admin.post("/settings/host-prices", {"hostname": "sim-idle-gpu-00001", "hourly_usd": "-1"})
    assert resp.status_code == 400 and not HostPrice.objects.exists()
    gpu_type = GpuType.objects.first()
    resp = as_admin.post("/settings/gpu-price", {"gpu_type": gpu_type.pk, "price": "abc"}, follow=True)
    assert "Price not saved" in resp.content.decode()
    gpu_type.refresh_from_db()
    assert gpu_type.price_override_usd is None
    resp = as_admin.post("/settings/agent-tokens", {"agent-name": "  "})
    assert resp.status_code == 400 and "Give the token a name" in resp.content.decode()
    as_admin.post("/settings/gpu-price", {"gpu_type": gpu_type.pk, "price": "2.25"})
    as_admin.post("/settings/gpu-price", {"gpu_type": gpu_type.pk, "price": ""})  # empty clears the override
    gpu_type.refresh_from_db()
    assert gpu_type.price_override_usd is None


def test_the_planner_answers_the_arithmetic_and_explains_bad_input(as_admin, db):
    resp = as_admin.get("/planner/?model=meta-llama/Llama-3.1-70B&dtype=bfloat16&quantization=&context_tokens=8192"
                        "&concurrency=16")  # fmt: skip
    plan = resp.context["plan"]
    assert plan.weights_bytes == pytest.approx(70.55e9 * 2, rel=0.01)
    assert plan.kv_bytes == pytest.approx(320 * 1024 * 8192 * 16)
    costs = [o.usd_month for o in plan.options]
    assert costs == sorted(costs) and all(o.gpus >= 2 for o in plan.options if o.memory_per_gpu_bytes <= 80e9 + 6e9)
    four_bit = as_admin.get("/planner/?model=meta-llama/Llama-3.1-70B&dtype=bfloat16&quantization=awq"
                            "&context_tokens=8192&concurrency=1").context["plan"]  # fmt: skip
    assert four_bit.weights_bytes < plan.weights_bytes / 3
    custom = as_admin.get("/planner/?model=custom&params_b=7&dtype=float16&context_tokens=4096&concurrency=4")
    assert custom.context["plan"].kv_bytes == 0 and "no KV cache" in custom.context["plan"].basis
    for query, message in (("model=custom&dtype=bfloat16&context_tokens=10&concurrency=1", "needs its size"),
                           ("model=custom&params_b=7&layers=32&dtype=bfloat16&context_tokens=10&concurrency=1",
                            "together"),
                           ("model=meta-llama/Llama-3.1-70B&dtype=bfloat16&context_tokens=0&concurrency=1",
                            "greater than or equal to 1"),
                           ("model=gpt-9&dtype=bfloat16&context_tokens=10&concurrency=1",
                            "Select a valid choice")):  # fmt: skip
        resp = as_admin.get(f"/planner/?{query}")
        assert resp.status_code == 200 and resp.context["plan"] is None and message in resp.content.decode(), query
