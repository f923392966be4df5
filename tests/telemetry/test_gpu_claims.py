"""A GPU uuid another active host reports is refused (422); one whose host dropped it or went silent moves."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from telemetry.models import Gpu, GpuSample, Host, HostSample, InferenceServer
from tests.batches import batch, gpu_info, post, server_info

pytestmark = pytest.mark.django_db


def push(client, token: str, machine_id: str, hostname: str, uuids: list[str], **kwargs):
    gpus = [gpu_info(u, i) for i, u in enumerate(uuids)]
    return post(client, token, batch(machine_id=machine_id, hostname=hostname, gpus=gpus, n_samples=1, **kwargs))


def test_a_new_host_claiming_an_active_hosts_gpu_is_422_and_nothing_is_stored(client, agent_token):
    raw = agent_token[1]
    assert push(client, raw, "m-a", "node-a", ["GPU-x"]).status_code == 202
    resp = push(client, raw, "m-b", "node-b", ["GPU-own", "GPU-x"])
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "gpu_claimed" and "nothing was stored" in body["message"]
    assert "RIGHTSIZER_HOST_OFFLINE_AFTER_S" in body["message"]
    assert body["errors"] == [
        {
            "path": "gpus.1.uuid",
            "message": "GPU 'GPU-x' belongs to host 'node-a' (machine id 'm-a'), which still reports it",
            "type": "gpu_claimed",
        }
    ]
    assert list(Host.objects.values_list("machine_id", flat=True)) == ["m-a"]
    assert sorted(Gpu.objects.values_list("uuid", "host__machine_id")) == [("GPU-x", "m-a")]
    assert HostSample.objects.count() == 1 and GpuSample.objects.count() == 1
    assert InferenceServer.objects.count() == 1


def test_an_existing_host_claiming_one_keeps_its_inventory_and_stores_nothing(client, agent_token):
    raw = agent_token[1]
    assert push(client, raw, "m-a", "node-a", ["GPU-x"]).status_code == 202
    assert push(client, raw, "m-b", "node-b", ["GPU-y"], labels={"deployment": "b"}).status_code == 202
    before = Host.objects.get(machine_id="m-b")
    resp = push(client, raw, "m-b", "node-b2", ["GPU-y", "GPU-x"], labels={"deployment": "changed"})
    assert resp.status_code == 422 and [e["path"] for e in resp.json()["errors"]] == ["gpus.1.uuid"]
    after = Host.objects.get(machine_id="m-b")
    assert (after.hostname, after.labels) == ("node-b", {"deployment": "b"})
    assert after.inventory_hash == before.inventory_hash
    assert Gpu.objects.get(uuid="GPU-x").host.machine_id == "m-a"
    assert HostSample.objects.filter(host=after).count() == 1


def test_a_gpu_its_old_host_no_longer_lists_moves_at_once(client, agent_token):
    raw = agent_token[1]
    assert push(client, raw, "m-a", "node-a", ["GPU-x", "GPU-y"]).status_code == 202
    # GPU-y is pulled from node-a, which comes back without it, and installed in node-b.
    assert push(client, raw, "m-a", "node-a", ["GPU-x"], servers=[server_info(gpu_uuids=["GPU-x"])]).status_code == 202
    assert push(client, raw, "m-b", "node-b", ["GPU-y"]).status_code == 202
    gpu = Gpu.objects.get(uuid="GPU-y")
    assert gpu.host.machine_id == "m-b" and gpu.active


def test_a_gpu_whose_old_host_went_silent_moves_and_is_logged(client, agent_token, settings, caplog):
    raw = agent_token[1]
    caplog.set_level(logging.INFO, logger="telemetry.inventory")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert push(client, raw, "m-a", "node-a", ["GPU-x"]).status_code == 202
        old_host = Host.objects.get(machine_id="m-a")
        clock.shift(settings.HOST_OFFLINE_AFTER_S - 1)
        assert push(client, raw, "m-b", "node-b", ["GPU-x"]).status_code == 422  # still counts as online
        clock.shift(2)
        assert push(client, raw, "m-b", "node-b", ["GPU-x"]).status_code == 202
    gpu = Gpu.objects.get(uuid="GPU-x")
    assert gpu.host.machine_id == "m-b" and Gpu.objects.filter(uuid="GPU-x").count() == 1
    assert f"event=gpu_moved gpu=GPU-x from_host_id={old_host.pk} to=node-b" in caplog.text
    # The old host re-syncs on its next push; coming back with the GPU it is now the claimant.
    assert Host.objects.get(pk=old_host.pk).inventory_hash == ""
    resp = push(client, raw, "m-a", "node-a", ["GPU-x"])
    assert resp.status_code == 422 and "'node-b'" in resp.json()["errors"][0]["message"]


def test_every_claimed_gpu_is_named(client, agent_token):
    raw = agent_token[1]
    assert push(client, raw, "m-a", "node-a", ["GPU-0", "GPU-1"]).status_code == 202
    assert push(client, raw, "m-c", "node-c", ["GPU-2"]).status_code == 202
    resp = push(client, raw, "m-b", "node-b", ["GPU-2", "GPU-new", "GPU-0"])
    errors = resp.json()["errors"]
    assert [e["path"] for e in errors] == ["gpus.0.uuid", "gpus.2.uuid"]
    assert "'node-c'" in errors[0]["message"] and "'node-a'" in errors[1]["message"]
    assert not Gpu.objects.filter(uuid="GPU-new").exists()


def test_the_offline_threshold_is_the_setting(client, agent_token, settings):
    settings.HOST_OFFLINE_AFTER_S = 30
    raw = agent_token[1]
    assert push(client, raw, "m-a", "node-a", ["GPU-x"]).status_code == 202
    Host.objects.filter(machine_id="m-a").update(last_seen=timezone.now() - timedelta(seconds=31))
    assert push(client, raw, "m-b", "node-b", ["GPU-x"]).status_code == 202
