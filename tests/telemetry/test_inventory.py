"""Inventory upserts from payloads: new GPUs, moved GPUs, renamed hosts, vanished servers."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from telemetry.models import Gpu, GpuSample, Host, InferenceServer
from tests.batches import batch, gpu_info, post, server_info

pytestmark = pytest.mark.django_db


_pushes = itertools.count()


def push(client, token: str, **kwargs) -> None:
    """One sample, each push a second later than the one before."""
    kwargs.setdefault("n_samples", 1)
    kwargs.setdefault("start", time.time() - 120 + next(_pushes))  # recent: not a late sample
    resp = post(client, token, batch(**kwargs))
    assert resp.status_code == 202, resp.content


def test_a_new_gpu_is_added(client, agent_token):
    raw = agent_token[1]
    push(client, raw, gpus=[gpu_info("GPU-a", 0)])
    push(client, raw, gpus=[gpu_info("GPU-a", 0), gpu_info("GPU-b", 1)])
    assert sorted(Gpu.objects.filter(active=True).values_list("uuid", "index")) == [
        ("GPU-a", 0), ("GPU-b", 1),
    ]  # fmt: skip
    assert GpuSample.objects.filter(gpu__uuid="GPU-b").count() == 1


def test_a_gpu_that_moved_to_another_host_follows_it(client, agent_token):
    raw = agent_token[1]
    push(client, raw, machine_id="m-a", hostname="a", gpus=[gpu_info("GPU-x"), gpu_info("GPU-y", 1)])
    push(client, raw, machine_id="m-b", hostname="b", gpus=[gpu_info("GPU-z")])
    # GPU-y is pulled from host a (powered off meanwhile: silent) and installed in host b.
    Host.objects.filter(machine_id="m-a").update(last_seen=timezone.now() - timedelta(hours=1))
    push(client, raw, machine_id="m-b", hostname="b", gpus=[gpu_info("GPU-z"), gpu_info("GPU-y", 1)])
    gpu = Gpu.objects.get(uuid="GPU-y")
    assert gpu.host.machine_id == "m-b" and gpu.active
    assert Gpu.objects.filter(uuid="GPU-y").count() == 1  # the same row: its history stays with it
    # Host a's next push no longer lists it; its samples still land.
    push(client, raw, machine_id="m-a", hostname="a", gpus=[gpu_info("GPU-x")])
    assert list(Host.objects.get(machine_id="m-a").gpus.values_list("uuid", flat=True)) == ["GPU-x"]
    assert GpuSample.objects.filter(gpu__uuid="GPU-y").count() == 2


def test_a_hostname_change_on_the_same_machine_keeps_the_host(client, agent_token):
    raw = agent_token[1]
    push(client, raw, hostname="old-name")
    host_id = Host.objects.get().pk
    push(client, raw, hostname="new-name")
    host = Host.objects.get()
    assert (host.pk, host.hostname) == (host_id, "new-name")
    assert host.samples.count() == 2


def test_labels_and_host_facts_are_updated(client, agent_token):
    raw = agent_token[1]
    push(client, raw, labels={"deployment": "a"})
    push(client, raw, labels={"deployment": "b", "team": "search"})
    assert Host.objects.get().labels == {"deployment": "b", "team": "search"}


def test_a_server_that_disappeared_is_marked_gone_and_comes_back(client, agent_token):
    raw = agent_token[1]
    push(client, raw, servers=[server_info("vllm:8000"), server_info("tgi:8080")])
    push(client, raw, servers=[server_info("vllm:8000")])
    gone = InferenceServer.objects.get(server_id="tgi:8080")
    assert not gone.active and gone.gone_at is not None
    assert InferenceServer.objects.get(server_id="vllm:8000").active
    push(client, raw, servers=[server_info("vllm:8000"), server_info("tgi:8080")])
    back = InferenceServer.objects.get(server_id="tgi:8080")
    assert back.pk == gone.pk and back.active and back.gone_at is None


def test_a_removed_gpu_is_inactive_but_kept(client, agent_token):
    raw = agent_token[1]
    push(client, raw, gpus=[gpu_info("GPU-a"), gpu_info("GPU-b", 1)])
    push(client, raw, gpus=[gpu_info("GPU-a")], servers=[server_info(gpu_uuids=["GPU-a"])])
    assert not Gpu.objects.get(uuid="GPU-b").active
    assert GpuSample.objects.filter(gpu__uuid="GPU-b").count() == 1


def test_server_model_change_is_recorded(client, agent_token):
    raw = agent_token[1]
    push(client, raw)
    push(client, raw, servers=[{**server_info(), "model": "Qwen/Qwen2.5-7B-Instruct", "max_batch_size": 64}])
    server = InferenceServer.objects.get()
    assert (server.model, server.max_batch_size) == ("Qwen/Qwen2.5-7B-Instruct", 64)


def test_an_unchanged_inventory_is_not_rewritten(client, agent_token, django_assert_max_num_queries):
    raw = agent_token[1]
    push(client, raw)
    push(client, raw)  # last_seen / last_used are fresh after this
    with django_assert_max_num_queries(7):
        push(client, raw)


def test_a_gpu_deleted_by_an_admin_is_recreated_on_the_next_push(client, agent_token):
    raw = agent_token[1]
    push(client, raw)
    Gpu.objects.all().delete()  # the stored id map on the host now points nowhere
    push(client, raw)
    assert Gpu.objects.count() == 1 and GpuSample.objects.count() == 1


def test_gpu_processes_are_kept_and_only_a_new_process_resyncs(client, agent_token, django_assert_max_num_queries):
    raw = agent_token[1]

    def with_processes(procs, start):
        payload = batch(n_samples=1, start=start)
        payload["processes"] = procs
        assert post(client, raw, payload).status_code == 202

    vllm = {"gpu_uuid": "GPU-aaaa", "pid": 4242, "gpu_mem_used": 20 * 1024**3, "name": "python3",
            "cmdline": "python3 -m vllm.entrypoints.openai.api_server --model x"}  # fmt: skip
    with_processes([vllm], time.time() - 300)
    assert Host.objects.get().gpu_processes == [vllm]
    with_processes([{**vllm, "gpu_mem_used": 21 * 1024**3}], time.time() - 200)  # last_seen written here
    with django_assert_max_num_queries(7):  # memory changed only: no inventory upsert
        with_processes([{**vllm, "gpu_mem_used": 22 * 1024**3}], time.time() - 100)
    with_processes([vllm, {**vllm, "pid": 5000}], time.time() - 50)
    assert [p["pid"] for p in Host.objects.get().gpu_processes] == [4242, 5000]


def test_a_process_on_an_unlisted_gpu_is_422(client, agent_token):
    payload = batch(n_samples=1)
    payload["processes"] = [{"gpu_uuid": "GPU-nope", "pid": 1}]
    resp = post(client, agent_token[1], payload)
    assert resp.status_code == 422 and resp.json()["errors"][0]["path"] == "processes.0.gpu_uuid"
