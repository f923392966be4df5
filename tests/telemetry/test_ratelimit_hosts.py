"""RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR: one agent token cannot fill the fleet with hosts."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from telemetry.models import AgentToken, Gpu, Host, HostSample, InferenceServer
from tests.batches import batch, gpu_info, post

pytestmark = pytest.mark.django_db


def new_host(i: int, **kwargs) -> dict:
    return batch(machine_id=f"m{i}", hostname=f"node-{i}", gpus=[gpu_info(f"GPU-{i}")], n_samples=1, **kwargs)


def test_past_the_limit_a_new_host_is_429_and_nothing_is_stored(client, agent_token, settings, caplog):
    settings.INGEST_NEW_HOSTS_PER_HOUR = 2
    caplog.set_level(logging.INFO, logger="telemetry.ratelimit_hosts")
    raw = agent_token[1]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert post(client, raw, new_host(0)).status_code == 202
        clock.shift(600)
        assert post(client, raw, new_host(1)).status_code == 202
        clock.shift(60)
        resp = post(client, raw, new_host(2))
        assert resp.status_code == 429
        body = resp.json()
        assert body["error"] == "too_many_new_hosts"
        assert "RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR" in body["message"] and "Nothing was stored" in body["message"]
        assert int(resp["Retry-After"]) == 3600 - 660  # when the first of the hour's hosts leaves the window
        assert sorted(Host.objects.values_list("machine_id", flat=True)) == ["m0", "m1"]
        assert not Gpu.objects.filter(uuid="GPU-2").exists() and InferenceServer.objects.count() == 2
        assert HostSample.objects.count() == 2

        # Hosts already registered keep pushing, inventory changes included.
        changed = new_host(0, labels={"deployment": "moved"})
        assert post(client, raw, changed).status_code == 202
        assert Host.objects.get(machine_id="m0").labels == {"deployment": "moved"}
        assert post(client, raw, new_host(1)).status_code == 202

        # Logged once, however many refusals follow.
        assert post(client, raw, new_host(3)).status_code == 429
        lines = [r.getMessage() for r in caplog.records if "event=new_host_limited" in r.getMessage()]
        assert lines == [f"event=new_host_limited token_id={agent_token[0].pk} limit_per_hour=2"]

        clock.shift(3600 - 660)  # m0 is now an hour old
        assert post(client, raw, new_host(2)).status_code == 202
        assert post(client, raw, new_host(3)).status_code == 429
    assert Host.objects.count() == 3


def test_each_token_has_its_own_allowance(client, agent_token, settings):
    settings.INGEST_NEW_HOSTS_PER_HOUR = 1
    assert post(client, agent_token[1], new_host(0)).status_code == 202
    assert post(client, agent_token[1], new_host(1)).status_code == 429
    _, other = AgentToken.issue("second fleet")
    assert post(client, other, new_host(1)).status_code == 202
    assert Host.objects.count() == 2


def test_a_lowered_limit_waits_for_enough_hosts_to_age_out(client, agent_token, settings):
    raw = agent_token[1]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for i in range(3):
            assert post(client, raw, new_host(i)).status_code == 202
            clock.shift(100)
        settings.INGEST_NEW_HOSTS_PER_HOUR = 2
        resp = post(client, raw, new_host(3))
        # m0 and m1 must both leave the hour before the count is under 2.
        assert resp.status_code == 429 and int(resp["Retry-After"]) == 3600 - 200


def test_zero_turns_the_limit_off(client, agent_token, settings):
    settings.INGEST_NEW_HOSTS_PER_HOUR = 0
    for i in range(5):
        assert post(client, agent_token[1], new_host(i, start=time.time() - 10)).status_code == 202
    assert Host.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_registrations_at_once_cannot_both_take_the_last_place(agent_token, settings):
    settings.INGEST_NEW_HOSTS_PER_HOUR = 1
    raw = agent_token[1]
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def register(i: int) -> None:
        barrier.wait()
        try:
            statuses.append(post(Client(), raw, new_host(i)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [202, 429, 429, 429]
    assert Host.objects.count() == 1 and HostSample.objects.count() == 1
