"""Fleet-wide thresholds set on the settings page: the layers default ← environment ← dashboard ← deployment
as the analysis reads them, per-field and whole-set validation, admins only, reset, and a queued analysis."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from recommender.analysis import Analysis
from recommender.in_force import InForce
from recommender.models import DeploymentThresholds, FleetThresholds, HostSummary
from recommender.summary import summarize
from telemetry.models import GpuRollup
from telemetry.models.rollups import PERIOD_1H
from tests.dashboard.test_reanalyse import _queued_analyses
from tests.recommender import history

pytestmark = pytest.mark.django_db

URL = "/settings/thresholds/fleet"


def _field(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def _source(page: str, label: str) -> str:
    """The "From" cell of a threshold's row in the fleet-wide table."""
    row = re.search(rf"<tr[^>]*>\s*<td>(?:<label[^>]*>)?{re.escape(label)} <code.*?</tr>", page, re.S).group(0)
    return re.search(r'data-source="(\w+)"', row).group(1)


def _gpu_busy_at_8_pct() -> int:
    """A host of deployment "chat" whose one GPU peaked at 8% every hour of the last six."""
    node = history.host("node-a", "chat")
    gpu = history.gpu(node)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    GpuRollup.objects.bulk_create([
        GpuRollup(gpu=gpu, period_s=PERIOD_1H, ts=hour - timedelta(hours=h), samples=60, covered_s=3600.0,
                  util_pct_mean=4.0, util_pct_max=8.0)
        for h in range(1, 7)
    ])  # fmt: skip
    return node.pk


def _idle_gpus(host_id: int) -> int:
    """The analysis's summary step run for the host: how many of its GPUs stayed under the idle line."""
    summarize(host_ids=[host_id])
    return HostSummary.objects.get(host_id=host_id).idle_gpus


def test_each_layer_overrides_the_one_below_and_the_analysis_reads_it(as_admin, settings):
    host_id = _gpu_busy_at_8_pct()
    assert _idle_gpus(host_id) == 0  # default line 5%: a GPU at 8% works
    settings.RECOMMENDER_THRESHOLDS = {"idle_util_p99_pct": 9}
    assert _idle_gpus(host_id) == 1  # the environment's 9%
    page = as_admin.get("/settings/").content.decode()
    assert _source(page, "Idle: utilization p99 below") == "environment"
    assert 'placeholder="9"' in _field(page, "fleet-idle_util_p99_pct")
    assert _source(page, "Target utilization") == "default"

    resp = as_admin.post(URL, {"fleet-idle_util_p99_pct": "7", "fleet-window_days": "21"}, follow=True)
    assert "Fleet-wide thresholds saved" in resp.content.decode()
    assert FleetThresholds.saved() == {"idle_util_p99_pct": 7.0, "window_days": 21.0}
    assert _idle_gpus(host_id) == 0  # the dashboard's 7% over the environment's 9%
    analysis = Analysis()
    assert analysis.th("chat").idle_util_p99_pct == 7.0 and analysis.hi - analysis.lo == timedelta(days=21)
    page = as_admin.get("/settings/?deployment=chat").content.decode()
    assert _source(page, "Idle: utilization p99 below") == "dashboard" and "(blank: 9)" in page
    assert 'value="7"' in _field(page, "fleet-idle_util_p99_pct")
    assert 'placeholder="7"' in _field(page, "idle_util_p99_pct")  # a deployment inherits the value in force

    as_admin.post("/settings/thresholds", {"deployment": "chat", "idle_util_p99_pct": "10"})
    assert _idle_gpus(host_id) == 1  # the deployment's 10% over all
    assert Analysis().th("chat").idle_util_p99_pct == 10.0 and Analysis().th("other").idle_util_p99_pct == 7.0


def test_a_bad_value_is_refused_on_its_field_and_the_typed_values_stay(as_admin):
    typed = {"fleet-target_util_pct": "150", "fleet-memory_margin": "20", "fleet-replica_floor": "abc"}
    resp = as_admin.post(URL, typed)
    assert resp.status_code == 400
    page = resp.content.decode()
    assert 'id="id_fleet-target_util_pct-error">Between 10 and 100 %.' in page
    assert 'id="id_fleet-replica_floor-error">A number, between 1 and 64 replicas.' in page
    assert 'value="150"' in _field(page, "fleet-target_util_pct")
    assert 'value="20"' in _field(page, "fleet-memory_margin")
    assert 'value="abc"' in _field(page, "fleet-replica_floor")
    assert not FleetThresholds.objects.exists()


def test_a_set_that_breaks_a_rule_across_fields_is_refused_whole(as_admin, settings):
    settings.RECOMMENDER_THRESHOLDS = {"min_coverage_hours": 30}
    resp = as_admin.post(URL, {"fleet-window_days": "1", "fleet-target_util_pct": "60"})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert "min_coverage_hours (30 hours) is longer than the window (window_days 1 = 24 hours)" in page
    assert 'value="1"' in _field(page, "fleet-window_days") and 'value="60"' in _field(page, "fleet-target_util_pct")
    assert not FleetThresholds.objects.exists()
    assert as_admin.post(URL, {"fleet-window_days": "1", "fleet-min_coverage_hours": "20"}).status_code == 302
    resp = as_admin.post("/settings/thresholds", {"deployment": "chat", "min_coverage_hours": "30"})
    assert resp.status_code == 400 and "(window_days 1 = 24 hours)" in resp.content.decode()  # over the fleet's
    assert not DeploymentThresholds.objects.exists()


def test_viewers_see_the_values_and_cannot_change_them(as_viewer):
    FleetThresholds.store({"target_util_pct": 60.0})
    page = as_viewer.get("/settings/").content.decode()
    assert "<b>60</b>" in page and _source(page, "Target utilization") == "dashboard"
    assert 'name="fleet-target_util_pct"' not in page and "Reset to inherited" not in page
    assert as_viewer.post(URL, {"fleet-target_util_pct": "50"}).status_code == 403
    assert as_viewer.post(URL + "/reset").status_code == 403
    assert FleetThresholds.saved() == {"target_util_pct": 60.0}


def test_saving_and_reset_queue_an_analysis_and_reset_clears_the_layer(as_admin):
    before = _queued_analyses()
    as_admin.post(URL, {"fleet-target_util_pct": "60"})
    assert FleetThresholds.saved() == {"target_util_pct": 60.0}
    page = as_admin.get("/settings/").content.decode()
    assert re.search(r'<button class="secondary" type="submit" data-confirm="Reset the fleet-wide thresholds[^"]*">'
                     r"Reset to inherited</button>", page)  # fmt: skip
    resp = as_admin.post(URL + "/reset", follow=True)
    assert "reset to the inherited values" in resp.content.decode()
    assert not FleetThresholds.objects.exists() and Analysis().th("chat").target_util_pct == 70.0
    assert _source(resp.content.decode(), "Target utilization") == "default"
    assert _queued_analyses() == before + 2
    assert as_admin.get(URL + "/reset").status_code == 405
    assert not DeploymentThresholds.objects.exists()


def test_saved_values_that_no_longer_fit_the_base_are_skipped_whole():
    """The environment changed under values saved earlier: the layer below applies, not half of each."""
    th = InForce(
        env={"window_days": 1, "min_coverage_hours": 20}, saved={"min_coverage_hours": 30, "target_util_pct": 60}
    )
    assert (th.fleet.min_coverage_hours, th.fleet.target_util_pct) == (20, 70)
    assert th.sources()["min_coverage_hours"] == "environment" and th.sources()["target_util_pct"] == "default"


def test_a_share_is_shown_and_typed_in_percent_and_stored_as_its_fraction(as_admin):
    page = as_admin.get("/settings/?deployment=chat").content.decode()
    row = re.search(r"<tr[^>]*>\s*<td><label[^>]*>Memory margin <code.*?</tr>", page, re.S).group(0)
    assert "<td>%</td>" in row and "0 – 100" in row and ">15<" in row and "share" not in row.replace("a share", "")
    assert 'placeholder="15"' in _field(page, "fleet-memory_margin") and 'max="100"' in _field(page, "memory_margin")
    assert 'placeholder="25"' in _field(page, "fleet-batching_at_limit_share")
    as_admin.post(URL, {"fleet-memory_margin": "20", "fleet-batching_at_limit_share": "30"}, follow=True)
    assert FleetThresholds.saved() == {"memory_margin": 0.2, "batching_at_limit_share": 0.3}
    assert Analysis().th("chat").memory_margin == 0.2
    page = as_admin.get("/settings/?deployment=chat").content.decode()
    assert 'value="20"' in _field(page, "fleet-memory_margin") and 'placeholder="20"' in _field(page, "memory_margin")
    as_admin.post("/settings/thresholds", {"deployment": "chat", "memory_margin": "12.5"})
    assert DeploymentThresholds.objects.get(deployment="chat").values == {"memory_margin": 0.125}
    page = as_admin.get("/settings/?deployment=chat").content.decode()
    assert 'value="12.5"' in _field(page, "memory_margin")
    overrides = re.search(r'<table id="threshold-overrides">.*?</table>', page, re.S).group(0)
    assert "<code>memory_margin</code> = 12.5%" in overrides
