"""A new host registered in one statement (telemetry.newhost) stores what the general upsert stores."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from telemetry import newhost
from telemetry.models import Gpu, Host, InferenceServer
from tests.batches import batch, gpu_info, post, server_info

pytestmark = pytest.mark.django_db

SKIP = {"id", "machine_id", "hostname", "first_seen", "last_seen", "inventory_hash", "inventory_ids", "uuid", "host"}


def two_server_host(i: int) -> dict:
    gpus = [gpu_info(f"GPU-{i}-{g}", index=g) for g in range(3)]
    servers = [
        server_info("vllm:8000", [f"GPU-{i}-0", f"GPU-{i}-1"]),
        server_info("vllm:8001", [f"GPU-{i}-2", f"GPU-{i}-2"]),  # a repeated link is stored once
    ]
    return batch(machine_id=f"m{i}", hostname=f"node-{i}", gpus=gpus, servers=servers, labels={"team": "a"})


def stored(machine_id: str) -> dict:
    """The host's rows, less what differs between two hosts by construction."""
    host = Host.objects.get(machine_id=machine_id)
    gpus = {g.pk: g for g in Gpu.objects.filter(host=host)}
    servers = list(InferenceServer.objects.filter(host=host).order_by("server_id"))
    assert host.inventory_ids == {
        "gpus": {g.uuid: pk for pk, g in gpus.items()},
        "servers": {s.server_id: s.pk for s in servers},
    }
    return {
        "host": {k: v for k, v in model_to_dict(host).items() if k not in SKIP},
        "seen": host.first_seen == host.last_seen,
        "gpus": [{k: v for k, v in model_to_dict(g).items() if k not in SKIP} for g in gpus.values()],
        "servers": [
            (
                {k: v for k, v in model_to_dict(s, exclude=["gpus"]).items() if k not in SKIP},
                sorted(gpus[g].index for g in s.gpus.values_list("pk", flat=True)),
            )
            for s in servers
        ],
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement registration is PostgreSQL's")
def test_one_statement_stores_what_the_general_upsert_stores(
    client, agent_token, settings, monkeypatch, caplog, django_assert_max_num_queries
):
    settings.INGEST_NEW_HOSTS_PER_HOUR = 0
    caplog.set_level(logging.INFO)
    raw = agent_token[1]
    # The token, the host lookup, the INSERT, the samples' write, the token's last use; in a test each
    # write sits in a savepoint and the group write runs inline: 9. The general upsert takes 17.
    with django_assert_max_num_queries(9):
        assert post(client, raw, two_server_host(5)).status_code == 202
    fast_lines = [r.getMessage().replace("5", "N") for r in caplog.records if "event=" in r.getMessage()]
    caplog.clear()
    monkeypatch.setattr(newhost, "register", lambda *a: None)
    assert post(client, raw, two_server_host(6)).status_code == 202
    general_lines = [r.getMessage().replace("6", "N") for r in caplog.records if "event=" in r.getMessage()]
    assert stored("m5") == stored("m6")
    assert stored("m5")["servers"][1][1] == [2]
    assert fast_lines == general_lines and len(fast_lines) == 7  # registered, 3 GPUs, 2 servers, deployment


def test_a_known_gpu_or_machine_id_goes_the_general_way(client, agent_token, settings):
    settings.INGEST_NEW_HOSTS_PER_HOUR = 5
    raw = agent_token[1]
    assert post(client, raw, two_server_host(1)).status_code == 202
    # Another machine id listing a GPU host m1 still reports: the general upsert's 422, nothing stored.
    claim = batch(machine_id="m9", hostname="node-9", gpus=[gpu_info("GPU-1-0")], servers=[])
    resp = post(client, raw, claim)
    assert resp.status_code == 422 and resp.json()["error"] == "gpu_claimed"
    assert not Host.objects.filter(machine_id="m9").exists()
    # Nothing half-written by the statement that found the uuid taken.
    assert Gpu.objects.count() == 3 and InferenceServer.objects.count() == 2
