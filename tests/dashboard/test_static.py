"""Chart.js and its zoom plugin ship with the project (and their licences) and survive the hashed static storage."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings

pytestmark = pytest.mark.django_db


def test_collectstatic_with_hashed_names_includes_chartjs_and_its_licence(tmp_path):
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}  # fmt: skip
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--no-input", "-v0")
    vendored = {p.name for p in (tmp_path / "dashboard/vendor/chartjs").iterdir()}
    assert any(re.fullmatch(r"chart\.umd\.min\.[0-9a-f]{12}\.js", n) for n in vendored)
    assert "LICENSE.md" in vendored
    assert "MIT" in (tmp_path / "dashboard/vendor/chartjs/LICENSE.md").read_text()
    zoom = {p.name for p in (tmp_path / "dashboard/vendor/chartjs-plugin-zoom").iterdir()}
    assert any(re.fullmatch(r"chartjs-plugin-zoom\.min\.[0-9a-f]{12}\.js", n) for n in zoom), zoom
    assert "MIT" in (tmp_path / "dashboard/vendor/chartjs-plugin-zoom/LICENSE.md").read_text()


def test_pages_load_scripts_and_styles_from_this_server_only(client, admin, fleet):
    from telemetry.models import Host

    client.force_login(admin)
    host = Host.objects.get(hostname="sim-oversized-00002")
    page = client.get(f"/hosts/{host.pk}/").content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert "/static/dashboard/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/dashboard/vendor/chartjs-plugin-zoom/chartjs-plugin-zoom.min.js" in sources
    assert all(s.startswith("/static/") or s.startswith("data:") for s in sources), sources
    assert client.get("/static/dashboard/vendor/chartjs/chart.umd.min.js").status_code == 200
