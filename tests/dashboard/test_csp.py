"""The Content-Security-Policy: sent on every page, nothing inline in the templates, and the pages obey it.

The browser checks reuse tests/browser's fixtures, whose `page` fails a test on any console
error, and Chromium reports every refused script or style there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from telemetry.models import Host
from tests.browser.conftest import browser_fleet, chromium, login, page  # noqa: F401 (fixtures)

TEMPLATES = Path(__file__).resolve().parents[2] / "dashboard" / "templates"


def _policy(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


@pytest.mark.django_db
def test_every_page_sends_a_policy_without_inline_or_eval(as_admin, fleet):
    host = Host.objects.first()
    for url in ["/", "/deployments/", f"/hosts/{host.pk}/", "/recommendations/", "/planner/", "/settings/",
                "/accounts/login/", "/admin/", "/api/v1/docs"]:  # fmt: skip
        resp = as_admin.get(url)
        assert resp.status_code == 200, url
        policy = _policy(resp["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], url


def test_templates_hold_no_inline_script_style_attribute_or_event_handler():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\sstyle\s*=", text), f"{path}: a style attribute (use a class in app.css)"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: an inline event handler (use a script file)"
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{path}: inline script {tag}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("catalog")
def test_the_chart_pages_the_admin_and_the_api_docs_obey_the_policy(page, browser_fleet, admin):  # noqa: F811
    login(page, "admin", "admin-pass-123", "/")
    bars = page.locator("#hosts .bar span")
    assert bars.count() > 0
    assert all(b.evaluate("(el) => el.getBoundingClientRect().width") > 0 for b in bars.all())  # app.js sized them
    host = Host.objects.get(hostname__startswith="sim-oversized")
    page.goto(f"/hosts/{host.pk}/")
    expect(page.locator("#server-charts canvas").first).to_be_visible()
    for url in ["/settings/", "/admin/", "/admin/telemetry/agenttoken/", "/admin/auth/user/add/", "/api/v1/docs"]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    expect(page.locator("#swagger-ui")).to_contain_text("Rightsizer API")
    # the page fixture fails the test if any of them logged a refused script or style
