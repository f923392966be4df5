"""A real H100's recording, replayed through the ingest API: what is stored is what was measured."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from django.db.models import Avg

from telemetry.models import Gpu, GpuSample, HostSample
from tests.batches import post
from tests.telemetry import real_h100

pytestmark = pytest.mark.django_db

# The fixture README's table: (util %, power W, memory used GB), means over each phase less its
# first 2 s and last 1 s, while the GPU settles.
PHASE_MEANS = {
    "idle": (0.0, 118.4, 0.8),
    "full": (100.0, 697.8, 1.2),
    "half": (77.5, 450.1, 1.2),
    "mem60g_idle": (0.0, 123.9, 65.6),
    "end_idle": (0.0, 122.0, 0.9),
}
SETTLE_S, TAIL_S = 2, 1


def shifted_to_now(bodies: list[dict]) -> float:
    """Move every sample by whole seconds so the newest is 3 s old (inside the accepted window,
    spacing kept); returns the shift, for the phase times."""
    newest = max(s["ts"] for body in bodies for s in body["samples"])
    shift = math.floor(time.time() - 3 - newest)
    for body in bodies:
        for sample in body["samples"]:
            sample["ts"] += shift
    return shift


def at(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, tz=UTC)


def test_the_recorded_batches_are_stored_with_their_phase_means(client, agent_token):
    _, raw = agent_token
    bodies = real_h100.batches()
    shift = shifted_to_now(bodies)
    for i, body in enumerate(bodies):
        resp = post(client, raw, body, gzipped=True)  # as the agent sent them
        assert resp.status_code == 202, (i, resp.content)
        assert resp.json() == {"accepted": len(body["samples"]), "duplicates": 0}

    recorded = len(real_h100.gpu_readings(bodies))
    assert recorded == 102
    assert GpuSample.objects.count() == recorded and HostSample.objects.count() == recorded
    gpu = Gpu.objects.get()
    assert (gpu.name, gpu.memory_total_bytes, gpu.power_limit_w) == ("NVIDIA H100 80GB HBM3", 85_520_809_984, 700.0)

    phases = real_h100.phases()
    for (name, start), (_, end) in pairwise(phases):
        rows = GpuSample.objects.filter(gpu=gpu, ts__gte=at(start + shift + SETTLE_S), ts__lt=at(end + shift - TAIL_S))
        means = rows.aggregate(util=Avg("util_pct"), power=Avg("power_w"), mem=Avg("mem_used_bytes"))
        util, power_w, mem_gb = PHASE_MEANS[name]
        assert means["util"] == pytest.approx(util, abs=0.05), name
        assert means["power"] == pytest.approx(power_w, abs=0.05), name
        assert means["mem"] / 1e9 == pytest.approx(mem_gb, abs=0.05), name


def test_replaying_the_recording_stores_nothing_twice(client, agent_token):
    _, raw = agent_token
    bodies = real_h100.batches()
    shifted_to_now(bodies)
    for body in bodies:
        assert post(client, raw, body, gzipped=True).status_code == 202
    duplicates = sum(post(client, raw, body, gzipped=True).json()["duplicates"] for body in bodies)
    assert duplicates == 102 and GpuSample.objects.count() == 102
