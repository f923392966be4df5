"""Two agents behind one machine id (telemetry.identity): noticed at ingest, logged once a window, shown."""

from __future__ import annotations

import logging
import time

import pytest
import time_machine
from django.utils import timezone

from telemetry.identity import SHOWN_S, WINDOW_S, Identity, step
from telemetry.models import Host, HostSample
from tests.batches import batch, gpu_info, post

A = Identity.of("a", ["GPU-1"])
B = Identity.of("b", ["GPU-2"])


def test_a_return_to_an_identity_left_within_the_window_is_a_conflict():
    history, hostnames = step([], A, B, 1000.0)
    assert hostnames == [] and [e["hostname"] for e in history] == ["a"]
    history, hostnames = step(history, B, A, 1030.0)
    assert hostnames == ["a", "b"]
    # The entry for B is refreshed, not repeated.
    history, _ = step(history, A, B, 1060.0)
    history, hostnames = step(history, B, A, 1090.0)
    assert hostnames == ["a", "b"] and sorted(e["hostname"] for e in history) == ["a", "b"]


def test_a_return_after_the_window_is_a_rename_back():
    history, _ = step([], A, B, 1000.0)
    assert step(history, B, A, 1000.0 + WINDOW_S) == ([{"hostname": "b", "gpus": sorted(B.gpus), "left": 4600.0}], [])


def test_three_clones_taking_turns_are_all_named():
    c = Identity.of("c", ["GPU-3"])
    history, _ = step([], A, B, 1.0)
    history, _ = step(history, B, c, 2.0)
    assert step(history, c, A, 3.0)[1] == ["a", "b", "c"]


def test_same_hostname_with_other_gpus_differs_but_a_gpu_off_the_bus_does_not():
    both, one = Identity.of("h", ["GPU-1", "GPU-2"]), Identity.of("h", ["GPU-1"])
    assert not both.differs(one) and not one.differs(Identity.of("h", []))
    history, _ = step([], both, one, 1.0)
    assert step(history, one, both, 2.0) == ([], [])
    x, y = Identity.of("h", ["GPU-1"]), Identity.of("h", ["GPU-2"])
    history, _ = step([], x, y, 1.0)
    assert step(history, y, x, 2.0)[1] == ["h"]


def test_what_is_remembered_stays_small():
    many = Identity.of("big", [f"GPU-{i}" for i in range(1024)])
    history: list[dict] = []
    for i in range(50):
        history, _ = step(history, Identity.of(f"h{i}", []), many, float(i))
    assert len(many.gpus) == 32 and len(history) == 8


# --- Through the ingest endpoint.

_clock = [0.0]


def push(client, token: str, hostname: str, gpus: list[str], machine_id: str = "cloned-id") -> None:
    _clock[0] += 1
    payload = batch(
        machine_id=machine_id,
        hostname=hostname,
        gpus=[gpu_info(u, i) for i, u in enumerate(gpus)],
        n_samples=1,
        start=time.time() - 120 + _clock[0],
    )
    resp = post(client, token, payload)
    assert resp.status_code == 202, resp.content


def conflict_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "event=machine_id_conflict" in r.getMessage()]


@pytest.mark.django_db
def test_two_clones_interleaving_are_flagged_logged_once_and_shown(client, agent_token, viewer, caplog):
    raw = agent_token[1]
    caplog.set_level(logging.INFO, logger="telemetry.inventory")
    # Start two minutes before the hour: the turns below straddle a clock-hour edge, which must not log twice.
    start = timezone.now().replace(minute=58, second=0, microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        push(client, raw, "node-a", ["GPU-a"])
        push(client, raw, "node-b", ["GPU-b"])
        host = Host.objects.get()
        assert host.identity_conflict_at is None and host.hostname == "node-b"  # one rename: no sign yet
        push(client, raw, "node-a", ["GPU-a"])
        host = Host.objects.get()
        assert host.identity_conflict_at == timezone.now()
        assert host.identity_conflict_hostnames == ["node-a", "node-b"]
        assert conflict_lines(caplog) == [
            "event=machine_id_conflict machine_id=cloned-id hostnames=node-a,node-b: two agents push with one "
            "machine id; set RIGHTSIZER_HOST_ID on the cloned hosts"
        ]
        for _ in range(3):  # they keep taking turns: stored each time, logged once in the window
            clock.shift(60)
            push(client, raw, "node-b", ["GPU-b"])
            push(client, raw, "node-a", ["GPU-a"])
        assert len(conflict_lines(caplog)) == 1
        assert Host.objects.get().identity_conflict_at == timezone.now()
        assert HostSample.objects.count() == 9  # the samples are stored: the warning is what changes

        client.force_login(viewer)
        page = client.get(f"/hosts/{host.pk}/").content.decode()
        assert 'id="identity-conflict"' in page and "RIGHTSIZER_HOST_ID" in page and "node-a, node-b" in page

        clock.shift(WINDOW_S)
        push(client, raw, "node-b", ["GPU-b"])
        push(client, raw, "node-a", ["GPU-a"])
        assert len(conflict_lines(caplog)) == 2  # the next window logs it again

        clock.shift(SHOWN_S)  # fixed: the clones push under ids of their own, this one goes quiet
        assert 'id="identity-conflict"' not in client.get(f"/hosts/{host.pk}/").content.decode()


@pytest.mark.django_db
def test_clones_with_one_hostname_and_their_own_gpus_are_flagged(client, agent_token):
    raw = agent_token[1]
    push(client, raw, "ubuntu", ["GPU-1"])
    push(client, raw, "ubuntu", ["GPU-2"])
    push(client, raw, "ubuntu", ["GPU-1"])
    host = Host.objects.get()
    assert host.identity_conflict_at is not None and host.identity_conflict_hostnames == ["ubuntu"]


@pytest.mark.django_db
def test_one_machine_renamed_or_losing_a_gpu_for_a_while_is_not_flagged(client, agent_token, viewer):
    raw = agent_token[1]
    push(client, raw, "old-name", ["GPU-1", "GPU-2"])
    push(client, raw, "new-name", ["GPU-1", "GPU-2"])
    push(client, raw, "new-name", ["GPU-1"])  # GPU-2 fell off the bus
    push(client, raw, "new-name", ["GPU-1", "GPU-2"])  # and came back
    host = Host.objects.get()
    assert host.identity_conflict_at is None and host.identity_conflict_hostnames == []
    client.force_login(viewer)
    assert 'id="identity-conflict"' not in client.get(f"/hosts/{host.pk}/").content.decode()
