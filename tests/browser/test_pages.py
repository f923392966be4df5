"""The dashboard in Chromium: log in, the fleet, a host's charts, dismiss, an agent token, the planner."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from accounts.models import AgentToken, hash_token
from recommender.models import Recommendation
from telemetry.models import Host
from tests.batches import batch
from tests.browser.conftest import login, painted_pixels, shot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]


def test_login_then_the_fleet_page_lists_every_host_with_totals(page, browser_fleet, viewer):
    login(page, "viewer", "viewer-pass-123")
    expect(page.locator("h1")).to_have_text("Fleet")
    rows = page.locator("#hosts tbody tr")
    expect(rows).to_have_count(Host.objects.count())
    expect(page.locator("#totals")).to_contain_text("hosts online")
    expect(page.locator("#totals")).to_contain_text("NVIDIA H100 80GB HBM3")
    assert page.locator("#hosts svg.spark").count() >= 7  # every GPU host draws its 24 h sparkline
    # At 1400 px the hosts table fits its box: no scrollbar of its own, "Last seen" not cut
    fit = page.locator("#hosts").evaluate(
        "(t) => ({table: t.scrollWidth, box: t.parentElement.clientWidth,"
        " cols: [...t.querySelectorAll('thead th')].map((th) => Math.round(th.getBoundingClientRect().width))})"
    )
    assert fit["table"] <= fit["box"], fit
    seen = page.locator("#hosts time[data-relative]").first
    expect(seen).to_have_text(re.compile(r"(ago|now)$"))  # relative, the full time on hover
    expect(seen).to_have_attribute("title", re.compile(r"\d{4}, \d{1,2}:\d{2}"))
    shot(page, "fleet")

    page.get_by_label("Search").fill("oversized")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("sim-oversized")

    page.goto("/?sort=-cost")
    costs = [c.get_attribute("title") or "" for c in page.locator("#hosts tbody td.num[title]").all()]
    assert costs, "cost cells carry the price they came from"
    first = page.locator("#hosts tbody tr").first
    expect(first).to_contain_text("8× NVIDIA H100")  # the 8-GPU host costs most


def test_a_wrong_password_says_so_and_lets_nobody_in(page, viewer):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    shot(page, "login")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/"))


def test_a_host_page_draws_every_chart_and_switches_range(page, browser_fleet, viewer):
    host = Host.objects.get(hostname__startswith="sim-oversized")
    login(page, "viewer", "viewer-pass-123", f"/hosts/{host.pk}/")
    status = page.locator("[data-range-status]")
    expect(status).to_contain_text("last 24 h")
    # one chart per metric: 5 of the host, 7 overlaying its 8 GPUs, 7 of the vLLM server
    canvases = page.locator("canvas")
    expect(canvases).to_have_count(5 + 7 + 7)
    pixels = painted_pixels(page)
    assert all(n > 500 for n in pixels), pixels
    expect(page.locator("#gpu-charts")).to_contain_text("Memory used vs need")
    shot(page, "host")

    page.get_by_role("button", name="7 d").click()
    expect(status).to_contain_text("last 7 d from 1h rollups")
    expect(canvases).to_have_count(19)
    assert all(n > 500 for n in painted_pixels(page))

    page.locator("[data-range-from]").fill("2020-01-01T00:00")
    page.locator("[data-range-to]").fill("2020-01-02T00:00")
    page.get_by_role("button", name="Apply").click()
    expect(status).to_contain_text("custom range")
    expect(page.locator(".chart .note").first).to_contain_text("No samples in this range")


def test_a_host_without_gpu_says_so_instead_of_empty_charts(page, browser_fleet, viewer):
    host = Host.objects.get(hostname__startswith="sim-cpu-only")
    login(page, "viewer", "viewer-pass-123", f"/hosts/{host.pk}/")
    expect(page.locator("#no-gpu")).to_contain_text("reports no GPU")
    expect(page.locator("canvas")).to_have_count(5)
    assert all(n > 500 for n in painted_pixels(page))


def test_the_deployment_page_draws_its_load_in_dark_mode(chromium, live_server, browser_fleet, viewer):
    viewport = {"width": 1400, "height": 900}
    context = chromium.new_context(color_scheme="dark", base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    try:
        login(page, "viewer", "viewer-pass-123", "/deployments/")
        shot(page, "deployments-dark")
        page.get_by_role("link", name="oversized").first.click()
        expect(page.locator("h1")).to_contain_text("oversized")
        expect(page.locator("#deployment-charts canvas")).to_have_count(18)  # test_charts names them
        assert all(n > 500 for n in painted_pixels(page, "#deployment-charts canvas"))
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 20, 32)", background
        shot(page, "deployment-dark")
    finally:
        context.close()


def test_an_admin_dismisses_a_recommendation_with_a_reason(page, browser_fleet, admin):
    rec = Recommendation.objects.filter(status="open").order_by("-saving_usd_month").first()
    login(page, "admin", "admin-pass-123", "/recommendations/")
    expect(page.locator("#rec-totals")).to_contain_text("saving / month")
    shot(page, "recommendations")
    page.get_by_role("link", name=rec.title).click()
    reported = sum(e.get("reported") is not False for e in rec.evidence)  # "not reported" draws no chart
    expect(page.locator("#evidence-charts canvas")).to_have_count(reported)
    assert all(n > 200 for n in painted_pixels(page, "#evidence-charts canvas"))
    shot(page, "recommendation")
    page.get_by_label("Reason for dismissing").fill("capacity kept for the launch")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#rec-status")).to_have_text("dismissed")
    expect(page.locator("#status-reason")).to_contain_text("capacity kept for the launch")
    rec.refresh_from_db()
    assert rec.status == "dismissed" and rec.status_reason == "capacity kept for the launch"
    assert rec.status_changed_by.username == "admin"


def test_an_admin_creates_an_agent_token_that_then_pushes(page, admin, live_server):
    login(page, "admin", "admin-pass-123", "/settings/")
    page.get_by_label("Name").first.fill("rack 7")
    page.get_by_role("button", name="Create agent token").click()
    box = page.locator("#new-agent-token")
    raw = box.locator(".secret").inner_text().strip()
    assert raw.startswith("rsa_")
    expect(box).to_contain_text(f"RIGHTSIZER_TOKEN={raw}")
    expect(box).to_contain_text("rightsizer-agent run")
    shot(page, "settings-new-token")
    token = AgentToken.objects.get(name="rack 7")
    assert token.token_hash == hash_token(raw) and token.created_by.username == "admin"

    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    body = json.dumps(batch()).encode()
    request = urllib.request.Request(f"{live_server.url}/api/v1/ingest", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 202
    page.reload()
    expect(page.locator("#new-agent-token")).to_have_count(0)  # shown once
    expect(page.locator("#agent-token-list")).to_contain_text("rack 7")


def test_the_planner_lists_the_gpus_that_fit(page, viewer):
    login(page, "viewer", "viewer-pass-123", "/planner/")
    page.get_by_label("Model").select_option(label="meta-llama/Llama-3.1-70B")
    page.get_by_label("Context length").fill("8192")
    page.get_by_label("Concurrent requests").fill("16")
    page.get_by_role("button", name="Plan").click()
    expect(page.locator("#plan-need")).to_contain_text("weights")
    options = page.locator("#plan-options tbody tr")
    assert options.count() >= 3
    expect(page.locator("#plan-options")).to_contain_text("H100")
    shot(page, "planner")

    page.get_by_label("Model").select_option(label="Custom size…")
    page.get_by_role("button", name="Plan").click()
    expect(page.get_by_role("alert").first).to_contain_text("needs its size in billions")


def test_a_new_install_teaches_how_to_add_the_first_host(page, admin):
    login(page, "admin", "admin-pass-123")
    expect(page.locator("#first-host")).to_contain_text("Add your first host")
    expect(page.locator("#first-host")).to_contain_text("rightsizer-agent run")
    shot(page, "fleet-empty")
