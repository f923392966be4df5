"""Each rule on hand-built windows: fires, does not fire, and at the boundary."""

from __future__ import annotations

import pytest

from recommender.rules import batching, host_rightsize, idle, quantize, resolve, saturation, scale_down, smaller_gpu
from tests.recommender.windows import (
    A10G,
    A100,
    CATALOG,
    H100,
    HOUR,
    LLAMA_8B,
    LLAMA_70B,
    WINDOW,
    deployment,
    gpu,
    host,
    server,
)

# --- idle


def test_idle_gpu_holding_memory_is_called_idle_held():
    h = host(gpus=[gpu(util=[0.5, 1.0, 2.0], mem_used_gib=21.6)], servers=[server(requests=0.0, batch=0.0)])
    (f,) = idle.check(h)
    assert f.kind == "idle" and f.target_type == "host"  # its only GPU: release the host
    assert "Memory is still held by vllm:8000" in f.reason
    assert f.saving.usd == pytest.approx(1.006 * 730)
    assert f.saving.kwh == pytest.approx(150 * 730 / 1000) and f.saving.kg_co2 == pytest.approx(43.8)
    assert f.evidence[0]["statistic"] == "p99" and f.evidence[0]["coverage_pct"] == 100.0


def test_one_idle_gpu_of_two_is_a_gpu_finding():
    h = host(gpus=[gpu(1, util=[1.0], mem_used_gib=20), gpu(2, util=[60.0], index=1)],
             servers=[server(gpu_ids=(2,))])  # fmt: skip
    (f,) = idle.check(h)
    assert f.target_type == "gpu" and f.target_key == "gpu:GPU-1" and f.title.startswith("Idle but holding memory")


@pytest.mark.parametrize(("util", "fires"), [(4.9, True), (5.0, False)])
def test_idle_at_the_p99_boundary(util, fires):
    assert bool(idle.check(host(gpus=[gpu(util=[util], mem_used_gib=0)]))) is fires


def test_a_gpu_that_served_requests_is_not_idle():
    h = host(gpus=[gpu(util=[1.0])], servers=[server(requests=0.1)])
    assert idle.check(h) == []


@pytest.mark.parametrize(("hours", "fires"), [(30, True), (29.9, False)])
def test_no_advice_before_30_hours_of_data(hours, fires):
    h = host(gpus=[gpu(util=[1.0], covered=hours * HOUR)], covered=hours * HOUR)
    assert bool(idle.check(h)) is fires


# --- scale_down


def _fleet(n, kind=H100, util=9.0, mem_gib=20.0, model=LLAMA_8B, tp=1):
    gpus = [gpu(i, util=[util], kind=kind, mem_used_gib=mem_gib, index=i) for i in range(1, n + 1)]
    servers = [server(gpu_ids=range(1, n + 1), model=model, kv=[5.0], tp=tp)] if model else []
    return host(gpus=gpus, servers=servers)


def test_scale_down_an_oversized_deployment():
    h = _fleet(8, tp=8)
    (f,) = scale_down.check(deployment([h], 72.0))
    assert f.kind == "scale_down" and f.target_key == "deployment:chat"
    assert f.title == "Scale down chat: 8 → 2 GPUs"
    assert f.saving.usd == pytest.approx(6 * 4.76 * 730)
    assert f.evidence[0]["value"] == 72.0 and f.evidence[0]["needed"] == 2


@pytest.mark.parametrize(("load", "fires"), [(70.0, True), (70.01, False)])
def test_scale_down_at_the_target_boundary(load, fires):
    assert bool(scale_down.check(deployment([_fleet(2)], load))) is fires


def test_scale_down_never_below_what_holds_the_model():
    h = _fleet(4, kind=A100, util=5, model=LLAMA_70B, tp=4)  # 141 GB of weights: 4 × 80 GB at bf16
    assert scale_down.check(deployment([h], 20.0)) == []


def test_a_diurnal_load_gets_a_schedule():
    day_night = [50.0] * 8 + [250.0] * 12 + [50.0] * 4  # busy 08:00–20:00 UTC
    (f,) = scale_down.check(deployment([_fleet(4, util=40)], day_night))
    assert "4 GPUs by day, 1 by night" in f.title and "08:00–20:00" in f.action
    assert f.saving.usd == pytest.approx(3 * 12 / 24 * 4.76 * 730)


# --- smaller_gpu


def test_a_small_model_on_a_big_gpu_moves_to_a_cheaper_one():
    h = host(gpus=[gpu(kind=A100, util=[30.0])], servers=[server(kv=[10.0])])
    (f,) = smaller_gpu.check(deployment([h], 30.0), CATALOG)
    assert f.title == "Move chat to 1 × A100 40GB (from 1 × A100 80GB)"
    assert f.saving.usd == pytest.approx((2.45 - 1.25) * 730)


def test_no_move_when_the_load_needs_the_bigger_gpu():
    h = host(gpus=[gpu(kind=A10G, util=[70.0])], servers=[server(kv=[50.0])])
    assert smaller_gpu.check(deployment([h], 70.0), CATALOG) == []


def test_unknown_gpu_types_are_not_sized():
    h = host(gpus=[gpu(kind=None, util=[10.0])])
    assert smaller_gpu.check(deployment([h], 10.0), CATALOG) == []


# --- quantize


def test_a_70b_model_at_bf16_fits_two_gpus_at_8_bit():
    h = _fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4)
    (f,) = quantize.check(deployment([h], 120.0), [H100, A100])
    assert f.title == "Quantize chat to INT8 (W8A8): 2 × A100 80GB instead of 4 × A100 80GB"
    assert "near lossless" in f.reason and f.saving.usd == pytest.approx(2 * 2.45 * 730)
    assert f.evidence[0]["sixteen_bit_gib"] == pytest.approx(131.4, abs=0.1)


def test_fp8_is_offered_only_on_gpus_that_support_it():
    h = _fleet(4, kind=H100, util=30, model=LLAMA_70B, tp=4)
    (f,) = quantize.check(deployment([h], 120.0), [H100, A100])
    assert f.title == "Quantize chat to FP8: 2 × H100 80GB instead of 4 × H100 80GB"


def test_quantize_counts_from_the_best_16_bit_option():
    # With cheap small GPUs in the catalog, 8 × A10G hold the 70B at bf16 for less than 4 × A100:
    # the saving quantization adds is measured from there, so the savings of the rules add up.
    h = _fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4)
    (f,) = quantize.check(deployment([h], 120.0), CATALOG)
    assert f.title.endswith("instead of 8 × A10G")
    assert f.saving.usd == pytest.approx((8 * 1.006 - 2 * 2.45) * 730)


def test_a_model_already_quantized_is_left_alone():
    h = _fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4)
    h.servers[0].quantization = "awq"
    assert quantize.check(deployment([h], 120.0), CATALOG) == []


# --- batching


def test_requests_waiting_with_headroom_name_the_vllm_knob():
    h = host(gpus=[gpu(util=[30.0])], servers=[server(kv=[10.0], waiting=5.0, max_batch=4)])
    (f,) = batching.check(h)
    assert "--max-num-seqs from 4 to 16" in f.action and f.saving.usd == 0


@pytest.mark.parametrize(("kv", "util"), [(60.0, 30.0), (10.0, 80.0)])
def test_no_batching_advice_without_headroom(kv, util):
    h = host(gpus=[gpu(util=[util])], servers=[server(kv=[kv], waiting=5.0, max_batch=4)])
    assert batching.check(h) == []


def test_triton_batches_of_one_under_steady_traffic():
    h = host(gpus=[gpu(util=[25.0])], servers=[server(kind="triton", model=None, kv=(), batch=1.0, max_batch=1)])
    (f,) = batching.check(h)
    assert "dynamic_batching" in f.action and "one at a time" in f.reason


# --- host_rightsize


def test_a_host_far_below_its_cpu_and_memory_is_right_sized():
    (f,) = host_rightsize.check(host(cpu=[8.0], mem_used_gib=48))
    assert f.title.startswith("Right-size node-1: 5 vCPU") and f.saving.usd > 0


@pytest.mark.parametrize(("cpu", "mem"), [(25.0, 48), (8.0, 120)])
def test_a_busy_cpu_or_memory_keeps_the_host(cpu, mem):
    assert host_rightsize.check(host(cpu=[cpu], mem_used_gib=mem)) == []


# --- saturation


def test_a_full_kv_cache_with_preemptions_is_saturation():
    h = host(gpus=[gpu(util=[99.0])], servers=[server(kv=[99.0], preempted=120, waiting=30.0)])
    findings = saturation.check(h)
    assert [f.kind for f in findings] == ["saturation"] and findings[0].saving.usd == 0
    assert "preempted" in findings[0].reason


def test_a_full_kv_cache_alone_is_not_saturation():
    assert saturation.check(host(gpus=[gpu(util=[60.0])], servers=[server(kv=[95.0])])) == []


def test_pinned_utilization_is_saturation_even_without_a_server():
    (f,) = saturation.check(host(gpus=[gpu(util=[97.0], mem_used_gib=10)]))
    assert f.target_type == "gpu" and "pinned" in f.reason


# --- the whole set


def _all(h, dep_load):
    findings = [f for rule in (idle, batching, host_rightsize, saturation) for f in rule.check(h)]
    dep = deployment([h], dep_load)
    findings += scale_down.check(dep) + smaller_gpu.check(dep, CATALOG) + quantize.check(dep, CATALOG)
    return resolve(findings)


def test_a_healthy_host_gets_no_advice():
    h = host(gpus=[gpu(util=[55.0, 70.0])], servers=[server(kv=[40.0])], cpu=[40.0])
    assert _all(h, 70.0) == []


def test_too_little_data_gets_no_advice_from_any_rule():
    h = host(gpus=[gpu(util=[1.0], covered=20 * HOUR)], servers=[server(kv=[99.0], preempted=5, covered=20 * HOUR)],
             cpu=[1.0], covered=20 * HOUR)  # fmt: skip
    assert _all(h, 1.0) == []


def test_saturation_silences_savings_on_the_same_deployment():
    h = host(gpus=[gpu(kind=A100, util=[30.0])], servers=[server(kv=[99.0], preempted=50)])
    kinds = {f.kind for f in _all(h, 30.0)}
    assert kinds == {"saturation"}  # smaller_gpu alone would have fired (see above)


def test_an_idle_gpu_is_released_not_batched_or_resized():
    h = host(gpus=[gpu(kind=A100, util=[1.0])], servers=[server(kv=[0.0], requests=0.0, batch=1.0, busy=0.0)],
             cpu=[3.0], mem_used_gib=20)  # fmt: skip
    kinds = [f.kind for f in _all(h, 1.0)]
    assert kinds == ["idle"]
    assert WINDOW == 14 * 24 * HOUR
