"""The Content-Security-Policy: sent on every page, and nothing inline in the templates that it would refuse.

That the pages obey it in a browser is tests/browser's: its `page` fixture fails a test on any
console error, and Chromium reports every refused script or style there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from telemetry.models import Gpu, Host

TEMPLATES = Path(__file__).resolve().parents[2] / "dashboard" / "templates"


def _policy(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


@pytest.mark.django_db
def test_every_page_sends_a_policy_without_inline_or_eval(as_admin, fleet):
    host, gpu = Host.objects.first(), Gpu.objects.first()
    for url in ["/", "/deployments/", f"/hosts/{host.pk}/", f"/hosts/{gpu.host_id}/gpus/{gpu.index}/",
                "/recommendations/", "/planner/", "/settings/", "/accounts/login/", "/admin/",
                "/api/v1/docs"]:  # fmt: skip
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
