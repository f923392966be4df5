"""The one deployment a host belongs to: the pure function, then every surface that reads it agreeing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard import fleet
from recommender.models import Recommendation
from telemetry.deployment import deployment_name
from telemetry.models import Host
from tests.batches import batch, post, server_info

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
QWEN = "Qwen/Qwen2.5-7B-Instruct"


@pytest.mark.parametrize(
    ("labels", "models_by_server", "expected"),
    [
        ({"deployment": "chat-prod", "team": "search"}, {"vllm:8000": LLAMA}, "chat-prod"),
        ({"deployment": ""}, {"vllm:8000": LLAMA}, LLAMA),
        ({"team": "search"}, {"vllm:8000": LLAMA}, LLAMA),
        ({}, {"vllm:8001": QWEN, "tgi:80": LLAMA}, LLAMA),  # the first by server id, not by listing order
        ({}, {"tgi:80": "", "triton:8001": None, "vllm:8000": QWEN}, QWEN),  # a server naming no model is skipped
        ({}, {"tgi:80": ""}, "node-3"),
        ({}, {}, "node-3"),
    ],
)
def test_label_else_first_served_model_else_hostname(labels, models_by_server, expected):
    assert deployment_name(labels, models_by_server, "node-3") == expected


def _server(server_id: str, model: str | None) -> dict:
    return {**server_info(server_id, gpu_uuids=[]), "model": model}


def _push(client, raw: str, machine_id: str, *, labels: dict, servers: list[dict]) -> None:
    resp = post(client, raw, batch(machine_id=machine_id, hostname=f"node-{machine_id}", gpus=[], servers=servers,
                                   labels=labels, n_samples=1))  # fmt: skip
    assert resp.status_code == 202, resp.content


@pytest.fixture
def hosts(client, agent_token, viewer):
    """One host of each kind, and a second replica sharing the first one's label."""
    raw = agent_token[1]
    _push(client, raw, "a", labels={"deployment": "chat-prod"}, servers=[_server("vllm:8000", LLAMA)])
    _push(client, raw, "b", labels={"team": "search"}, servers=[_server("vllm:8001", QWEN), _server("tgi:80", LLAMA)])
    _push(client, raw, "c", labels={}, servers=[])
    _push(client, raw, "d", labels={"deployment": "chat-prod"}, servers=[_server("vllm:8000", QWEN)])
    _recommend_for_each_host()
    client.force_login(viewer)
    return client


def _recommend_for_each_host() -> None:
    """One recommendation per host under its stored deployment, as the analysis writes them."""
    Recommendation.objects.all().delete()
    for h in Host.objects.all():
        Recommendation.objects.create(kind="idle", target_type="host", target_key=f"host:{h.machine_id}",
                                      target_label=h.hostname, deployment=h.deployment, host=h, title=f"{h} is idle",
                                      reason="because", confidence=0.8)  # fmt: skip


def _surfaces(client, name: str) -> dict[str, list[str]]:
    """The hostnames each surface lists under one deployment name."""
    page = client.get(reverse("dashboard:deployment", args=[name]))
    assert page.status_code == 200, name
    ids = fleet.member_ids(name)
    return {
        "stored": sorted(Host.objects.filter(deployment=name).values_list("hostname", flat=True)),
        "hosts API": sorted(h["hostname"] for h in client.get("/api/v1/hosts", {"deployment": name}).json()["items"]),
        "recommendations API": sorted(r["host"] for r in client.get("/api/v1/recommendations",
                                                                    {"deployment": name}).json()["items"]),
        "fleet rows": sorted(r.host.hostname for r in fleet.load_rows() if r.deployment == name),
        "fleet page filter": sorted(r.host.hostname for r in client.get("/", {"deployment": name}).context["page"]),
        "deployment page": sorted(r.host.hostname for r in page.context["rows"]),
        "deployment page recs": sorted(r.host.hostname for r in page.context["recs"]),
        "chart hosts": sorted(Host.objects.filter(pk__in=ids).values_list("hostname", flat=True)),
    }  # fmt: skip


def _assert_agree(client, expected: dict[str, list[str]]) -> None:
    groups = client.get(reverse("dashboard:deployments")).context["groups"]
    assert {g["name"]: g["hosts"] for g in groups} == {name: len(hostnames) for name, hostnames in expected.items()}
    for name, hostnames in expected.items():
        for surface, listed in _surfaces(client, name).items():
            assert listed == hostnames, f"{surface} under {name!r}"


@pytest.mark.django_db
def test_every_surface_lists_the_same_hosts_per_deployment(hosts):
    stored = dict(Host.objects.values_list("hostname", "deployment"))
    assert stored == {"node-a": "chat-prod", "node-b": LLAMA, "node-c": "node-c", "node-d": "chat-prod"}
    _assert_agree(hosts, {"chat-prod": ["node-a", "node-d"], LLAMA: ["node-b"], "node-c": ["node-c"]})
    host_page = hosts.get(reverse("dashboard:host", args=[Host.objects.get(hostname="node-c").pk]))
    assert host_page.context["deployment"] == "node-c"


@pytest.mark.django_db
def test_a_later_push_moves_the_host_when_its_label_or_model_changes(hosts, agent_token):
    raw = agent_token[1]
    _push(hosts, raw, "a", labels={"deployment": "chat-canary"}, servers=[_server("vllm:8000", LLAMA)])
    _push(hosts, raw, "b", labels={"team": "search"}, servers=[_server("vllm:8001", QWEN)])  # tgi:80 is gone
    _push(hosts, raw, "c", labels={"deployment": "batch"}, servers=[])
    stored = dict(Host.objects.values_list("hostname", "deployment"))
    assert stored == {"node-a": "chat-canary", "node-b": QWEN, "node-c": "batch", "node-d": "chat-prod"}
    assert hosts.get(reverse("dashboard:deployment", args=["node-c"])).status_code == 404
    assert hosts.get("/api/v1/hosts", {"deployment": LLAMA}).json()["count"] == 0
    _recommend_for_each_host()  # the analysis's next run
    _assert_agree(hosts, {"chat-canary": ["node-a"], QWEN: ["node-b"], "batch": ["node-c"], "chat-prod": ["node-d"]})
