"""The thresholds as a typed form: units, bounds and meaning shown; a bad value is refused per field and
nothing typed is lost; blank inherits the fleet-wide value; a change queues an analysis."""

from __future__ import annotations

import re

import pytest

from recommender.models import DeploymentThresholds
from recommender.thresholds import DEFAULTS, describe
from tests.dashboard import recs
from tests.dashboard.test_reanalyse import _queued_analyses

pytestmark = pytest.mark.django_db


def _field(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_the_fleet_table_and_the_form_show_label_unit_bounds_and_meaning(as_admin):
    recs.host("node-a", "chat", gpus=1)
    page = as_admin.get("/settings/").content.decode()
    assert "Target utilization" in page and "utilization a right-sized deployment runs at" in page
    assert "10 – 100" in page and "<td>%</td>" in page and "<td>hours</td>" in page
    assert all(f"{d['label']} <code" in page and d["description"] in page for d in describe())  # every threshold
    assert 'id="overrides-form"' not in page  # no deployment picked yet
    assert '<option value="chat"' in page
    page = as_admin.get("/settings/?deployment=chat").content.decode()
    target = _field(page, "target_util_pct")
    assert 'min="10"' in target and 'max="100"' in target and 'placeholder="70"' in target and "value=" not in target
    assert 'name="window_days"' not in page  # fleet-wide only
    assert "Between 0 and 100 %." not in page  # no error before a post


def test_an_out_of_bounds_value_is_refused_on_its_field_and_the_typed_values_stay(as_admin):
    recs.host("node-a", "chat", gpus=1)
    typed = {"target_util_pct": "150", "idle_util_p99_pct": "3", "memory_margin": "abc", "host_cpu_p95_pct": "x"}
    resp = as_admin.post("/settings/thresholds", {"deployment": "chat", **typed})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert 'id="id_target_util_pct-error">Between 10 and 100 %.' in page
    assert 'id="id_memory_margin-error">A number, between 0 and 100 %.' in page  # a share is typed in %
    assert 'id="id_host_cpu_p95_pct-error">A number, between 0 and 100 %.' in page
    assert 'value="150"' in _field(page, "target_util_pct") and 'value="3"' in _field(page, "idle_util_p99_pct")
    assert 'value="abc"' in _field(page, "memory_margin")
    assert not DeploymentThresholds.objects.exists()


def test_blank_inherits_and_a_change_queues_an_analysis(as_admin):
    recs.host("node-a", "chat", gpus=1)
    before = _queued_analyses()
    resp = as_admin.post("/settings/thresholds", {"deployment": "chat", "target_util_pct": "60",
                                                  "idle_util_p99_pct": ""}, follow=True)  # fmt: skip
    assert "An analysis is queued" in resp.content.decode()
    assert DeploymentThresholds.objects.get(deployment="chat").values == {"target_util_pct": 60.0}
    page = as_admin.get("/settings/?deployment=chat").content.decode()
    assert 'value="60' in _field(page, "target_util_pct")
    assert f'placeholder="{DEFAULTS["idle_util_p99_pct"]:g}"' in _field(page, "idle_util_p99_pct")
    as_admin.post("/settings/thresholds", {"deployment": "chat"})  # all blank: nothing left to override
    assert not DeploymentThresholds.objects.exists()
    assert _queued_analyses() == before + 2


def test_revokes_and_removals_ask_first_and_a_new_secret_has_copy_buttons(as_admin):
    as_admin.post("/settings/agent-tokens", {"agent-name": "rack <9>"})
    page = as_admin.get("/settings/").content.decode()
    assert 'data-confirm="Revoke token rack &lt;9&gt;? Agents using it will be refused.">Revoke</button>' in page
    assert 'data-copy="#new-agent-token .secret">Copy token</button>' in page
    assert 'data-copy="#agent-install">Copy command</button>' in page and '<pre id="agent-install">' in page
    assert as_admin.get("/settings/agent-tokens/1/revoke").status_code == 405  # a revoke is a POST only
