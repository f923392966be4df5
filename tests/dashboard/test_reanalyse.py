"""A price or threshold change queues an analysis; "Re-analyse now" runs one for admins only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from recommender.models import GpuType, Recommendation
from tests.dashboard import recs

pytestmark = pytest.mark.django_db


def _queued_analyses() -> int:
    """Messages for recommender.tasks.analyze waiting in the embedded broker's folder."""
    if settings.REDIS_URL:
        pytest.skip("counts the embedded broker's files; REDIS_URL is set")
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    return sum(
        "recommender.tasks.analyze" in json.loads(p.read_text())["headers"].get("task", "")
        for p in folder.glob("*.msg")
    )


def test_changing_a_price_or_thresholds_queues_an_analysis(as_admin):
    before = _queued_analyses()
    gpu_type = GpuType.objects.first()
    resp = as_admin.post("/settings/gpu-price", {"gpu_type": gpu_type.pk, "price": "2.25"}, follow=True)
    assert "An analysis is queued" in resp.content.decode()
    recs.host("node-a", "chat", gpus=1)
    as_admin.post("/settings/host-prices", {"hostname": "node-a", "hourly_usd": "3"})
    as_admin.post("/settings/thresholds", {"deployment": "chat", "idle_util_p99_pct": "3"})
    assert _queued_analyses() == before + 3


def test_re_analyse_now_runs_the_analysis_and_comes_back(as_admin):
    stale = recs.rec("scale_down", "gone", 1, recs.TODAY, recs.SCALED)  # its deployment no longer reports
    page = as_admin.get("/recommendations/").content.decode()
    assert 'action="/analysis/run"' in page and "csrfmiddlewaretoken" in page
    resp = as_admin.post("/analysis/run", {"next": "/recommendations/"}, follow=True)
    assert resp.redirect_chain[-1][0] == "/recommendations/"
    assert "Analysis done" in resp.content.decode()
    stale.refresh_from_db()
    assert stale.status == "resolved"  # the analysis saw nothing of it any more
    assert as_admin.post("/analysis/run", {"next": "https://evil.example/"})["Location"] == "/settings/"


def test_viewers_get_no_button_and_a_403(as_viewer):
    assert "Re-analyse now" not in as_viewer.get("/settings/").content.decode()
    assert "Re-analyse now" not in as_viewer.get("/recommendations/").content.decode()
    assert as_viewer.post("/analysis/run").status_code == 403
    assert as_viewer.get("/analysis/run").status_code == 405


def test_the_button_needs_the_csrf_token(admin):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    assert strict.post("/analysis/run").status_code == 403
    assert not Recommendation.objects.exists()
