"""The fleet page's per-host figures, from samples pushed through the API and rolled up."""

from __future__ import annotations

import time

import pytest
from django.db.models import F, FloatField, Sum

from recommender.models import GpuType, HostPrice, HostSummary
from recommender.summary import Summarizer, summarize
from telemetry.models import GpuRollup, Host
from telemetry.models.rollups import PERIOD_1H
from telemetry.rollups import run_rollups
from tests.batches import batch, gpu_info, post

pytestmark = pytest.mark.django_db


def _push(client, token, **kwargs) -> None:
    start = time.time() - 3 * 3600
    resp = post(client, token, batch(n_samples=180, interval_s=60.0, start=start, **kwargs))
    assert resp.status_code == 202, resp.content


@pytest.fixture
def hosts(client, agent_token):
    token = agent_token[1]
    two = [gpu_info(uuid="GPU-a", index=0), gpu_info(uuid="GPU-b", index=1)]
    _push(client, token, machine_id="m-a10g", hostname="a10g-pair", gpus=two)
    _push(client, token, machine_id="m-cpu", hostname="cpu-box", gpus=[], servers=[])
    _push(client, token, machine_id="m-odd", hostname="odd-gpu", gpus=[gpu_info(uuid="GPU-x", name="Mystery 9000")],
          servers=[])  # fmt: skip
    run_rollups()
    summarize()
    return {h.hostname: h for h in Host.objects.all()}


def test_cost_comes_from_the_gpu_types_the_host_price_or_the_vcpus(hosts, settings):
    a10g = GpuType.objects.get(name__icontains="A10G")
    pair = HostSummary.objects.get(host=hosts["a10g-pair"])
    assert pair.usd_month == pytest.approx(2 * a10g.price_usd * 730, abs=0.01)
    assert pair.gpu_count == 2 and pair.gpu_types == "2× NVIDIA A10G" and pair.gpu_memory_bytes == 2 * 24 * 1024**3
    cpu = HostSummary.objects.get(host=hosts["cpu-box"])
    # 32 vCPU / 256 GiB: priced as sold shapes are, by the larger of its vCPUs and its memory ÷ 4 GiB.
    assert cpu.usd_month == pytest.approx(64 * settings.VCPU_HOURLY_USD * 730, abs=0.01)
    assert cpu.price_label == f"32 vCPU / 256 GiB priced as 64 vCPU-equivalents × ${settings.VCPU_HOURLY_USD}/vCPU-h"
    odd = HostSummary.objects.get(host=hosts["odd-gpu"])
    assert odd.usd_month is None and "not in the catalog" in odd.price_label
    HostPrice.objects.create(host=hosts["a10g-pair"], hourly_usd=1.0)
    summarize()
    assert HostSummary.objects.get(host=hosts["a10g-pair"]).usd_month == 730.0


def test_utilization_memory_need_and_energy_follow_the_rollups(hosts):
    pair = HostSummary.objects.get(host=hosts["a10g-pair"])
    assert len(pair.util_hourly) == 24
    full_hours = [v for v in pair.util_hourly if v is not None]
    assert 2 <= len(full_hours) <= 3 and all(v == pytest.approx(35.0) for v in full_hours)
    assert pair.util_mean_pct == pytest.approx(35.0) and pair.idle_gpus == 0
    # GPU-a runs the 8B model (its need: weights + KV in use + overhead); GPU-b has no server: NVML's 20 GiB.
    assert "model weights + KV cache in use" in pair.memory_need_basis and "NVML" in pair.memory_need_basis
    assert 20 * 1024**3 + 16e9 < pair.memory_need_bytes < 20 * 1024**3 + 24e9
    summarizer = Summarizer()
    joules = (
        GpuRollup.objects.filter(
            period_s=PERIOD_1H, gpu__host=hosts["a10g-pair"], ts__gte=summarizer.month_start, ts__lt=summarizer.hi
        ).aggregate(j=Sum(F("power_w_mean") * F("covered_s"), output_field=FloatField()))["j"]
        or 0.0
    )
    assert pair.energy_kwh_month == pytest.approx(joules / 3.6e6, abs=0.05)
    assert HostSummary.objects.get(host=hosts["cpu-box"]).memory_need_basis == "no GPU"


def test_a_gpu_that_never_passes_the_idle_line_counts_as_idle(client, agent_token):
    from tests.batches import gpu_reading

    payload = batch(machine_id="m-idle", hostname="idle", n_samples=180, interval_s=60.0, start=time.time() - 3 * 3600)
    for s in payload["samples"]:
        s["gpus"] = [gpu_reading("GPU-aaaa", util_pct=0.0)]
    assert post(client, agent_token[1], payload).status_code == 202
    run_rollups()
    summarize()
    assert HostSummary.objects.get(host__hostname="idle").idle_gpus == 1
