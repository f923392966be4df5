"""The simulator's archetypes through ingest, rollups and the analysis: each gets exactly the advice an expert
would give, and the plans keep the contract that ../shared/tools/check_advice.py checks."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from collectors.simulate import ARCHETYPES
from recommender.models import HostPrice, Recommendation
from recommender.tasks import run_analysis
from telemetry.models import Host
from telemetry.rollups import run_rollups
from tests.recommender.fleet import push_fleet

EXPECTED = {  # deployment (archetype) → exactly the kinds it gets
    "chat-diurnal": set(),
    "idle-gpu": {"idle"},
    "oversized": {"scale_down"},
    "llama70b-bf16": {"quantize"},
    "batching-limited": {"batching"},
    "saturated": {"saturation"},
    "triton-no-batching": {"batching"},
    "tgi-healthy": set(),
    "cpu-only": {"host_rightsize"},
    "low-traffic": set(),
    "two-replica-small": set(),
    "llama70b-hopper": {"quantize"},
    "user-priced": {"smaller_gpu"},
}


def analysed_fleet(client: Client, token: str, copies: int = 1) -> dict[str, list[Recommendation]]:
    end = time.time() // 86400 * 86400  # whole days ending at midnight UTC: the same diurnal phase every run
    push_fleet(client, token, days=2.0, step_s=300, end=end, archetypes=ARCHETYPES * copies)
    for arch in ARCHETYPES:
        if arch.user_hourly_usd is not None:
            for host in Host.objects.filter(deployment=arch.name):
                HostPrice.objects.create(host=host, hourly_usd=arch.user_hourly_usd, note="provider's rate")
    run_rollups()
    run_analysis()
    got: dict[str, list[Recommendation]] = {}
    for rec in Recommendation.objects.filter(status="open"):
        got.setdefault(rec.deployment, []).append(rec)
    return got


@pytest.mark.django_db
def test_each_archetype_gets_exactly_the_expert_advice(client, agent_token):
    got = analysed_fleet(client, agent_token[1])
    kinds = {dep: {r.kind for r in recs} for dep, recs in got.items()}
    for dep, expected in EXPECTED.items():
        assert kinds.get(dep, set()) == expected, (dep, [(r.kind, r.title) for r in got.get(dep, [])])


def check_advice():
    """../shared/tools/check_advice.py, beside the checkout (as CI lays it out), or RIGHTSIZER_SHARED_DIR's."""
    import importlib.util
    import os
    from pathlib import Path

    roots = [os.environ.get("RIGHTSIZER_SHARED_DIR", ""), Path(__file__).resolve().parents[3] / "shared"]
    path = next((Path(r) / "tools" / "check_advice.py" for r in roots if r and (Path(r) / "tools").is_dir()), None)
    if path is None:
        # Not a service this project runs: the same invariants are asserted in test_plan_properties.py.
        pytest.skip(f"../shared/tools/check_advice.py not beside the checkout ({roots[1]})")
    spec = importlib.util.spec_from_file_location("check_advice", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_two_replicas_of_each_archetype_keep_the_plan_contract(client, agent_token, admin):
    got = analysed_fleet(client, agent_token[1], copies=2)
    client.force_login(admin)
    recs = client.get("/api/v1/recommendations?status=open&limit=1000").json()["items"]
    assert recs and check_advice().invariants(recs) == []
    kinds = {dep: {r.kind for r in rs} for dep, rs in got.items()}
    # Two replicas never become one: healthy pairs are left alone, and the oversized pair keeps two.
    assert not kinds.get("two-replica-small") and not kinds.get("tgi-healthy") and not kinds.get("chat-diurnal")
    for rec in Recommendation.objects.filter(status="open").exclude(proposed=None):
        if rec.kind != "idle" and rec.proposed.get("gpu_type"):
            replicas = (rec.proposed.get("schedule") or {}).get("off_replicas", rec.proposed["replicas"])
            assert replicas >= 2, (rec.deployment, rec.title)
