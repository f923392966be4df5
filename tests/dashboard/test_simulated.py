"""Simulated hosts (label simulated=true) are named in the banner and tagged beside each page or row about them."""

from __future__ import annotations

import re

import pytest
from django.utils.html import strip_tags

from telemetry.models import Host
from tests.dashboard import recs

pytestmark = pytest.mark.django_db

TAG = '<span class="pill simulated">simulated</span>'


def _simulated(hostname: str, deployment: str, **kwargs) -> Host:
    h = recs.host(hostname, deployment, **kwargs)
    h.labels = {**h.labels, "simulated": "true"}
    h.save(update_fields=["labels"])
    return h


def _banner(resp) -> str:
    found = re.search(r'<p class="simulated-banner"[^>]*>(.*?)</p>', resp.content.decode(), re.S)
    assert found, "no banner"
    return " ".join(strip_tags(found.group(1)).split())


def test_the_banner_counts_one_simulated_host_in_the_singular(as_viewer):
    _simulated("sim-0", "demo")
    recs.host("real-0", "prod")
    assert _banner(as_viewer.get("/")) == (
        "Demo data: 1 host in this fleet is simulated (label simulated=true, from make demo or "
        "rightsizer-agent simulate); it is marked simulated."
    )


def test_the_banner_counts_two_simulated_hosts_in_the_plural(as_viewer):
    _simulated("sim-0", "demo")
    _simulated("sim-1", "demo")
    assert _banner(as_viewer.get("/deployments/")) == (
        "Demo data: 2 hosts in this fleet are simulated (label simulated=true, from make demo or "
        "rightsizer-agent simulate); each is marked simulated."
    )


def test_no_banner_without_a_simulated_host(as_viewer):
    recs.host("real-0", "prod")
    assert "simulated-banner" not in as_viewer.get("/").content.decode()


def test_recommendations_about_simulated_hosts_or_all_simulated_deployments_are_tagged(as_viewer):
    sim = _simulated("sim-0", "demo", gpus=1)
    _simulated("sim-1", "demo")
    _simulated("mixed-0", "mixed")
    recs.host("mixed-1", "mixed")  # one real host: the deployment is not simulated
    real = recs.host("real-0", "prod")
    on_sim_host = recs.rec("host_rightsize", "demo", target_host=sim, title="sim host advice")
    on_sim_deployment = recs.rec("scale_down", "demo", 1, recs.TODAY, recs.SCALED, title="sim deployment advice")
    on_mixed = recs.rec("scale_down", "mixed", 1, recs.TODAY, recs.SCALED, title="mixed advice")
    on_real = recs.rec("host_rightsize", "prod", target_host=real, title="real advice")

    page = as_viewer.get("/recommendations/").content.decode()
    rows = {re.search(r'/recommendations/\d+/">([^<]+)</a>', row).group(1): TAG in row
            for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if "/recommendations/" in row}  # fmt: skip
    assert rows == {"sim host advice": True, "sim deployment advice": True, "mixed advice": False,
                    "real advice": False}  # fmt: skip

    for rec, tagged in ((on_sim_host, True), (on_sim_deployment, True), (on_mixed, False), (on_real, False)):
        h1 = re.search(r"<h1>(.*?)</h1>", as_viewer.get(f"/recommendations/{rec.pk}/").content.decode(), re.S)
        assert (TAG in h1.group(1)) is tagged, rec.title


def test_the_deployments_list_tags_a_deployment_made_only_of_simulated_hosts(as_viewer):
    _simulated("sim-0", "demo", usd_month=100.0)
    _simulated("sim-1", "demo", usd_month=100.0)
    _simulated("mixed-0", "mixed", usd_month=100.0)
    recs.host("mixed-1", "mixed", usd_month=100.0)
    resp = as_viewer.get("/deployments/")
    assert {g["name"]: g["simulated"] for g in resp.context["groups"]} == {"demo": True, "mixed": False}
    page = resp.content.decode()
    rows = {re.search(r'deployments/([^/]+)/"', row).group(1): TAG in row
            for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if "/deployments/" in row}  # fmt: skip
    assert rows == {"demo": True, "mixed": False}
