"""Each rule on hand-built windows: fires, does not fire, and at the boundary; the plan's steps chained."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recommender.rules import batching, deployment_plan, host_rightsize, resolve, saturation
from recommender.savings import steps_of
from tests.recommender.windows import (
    A10G,
    A100,
    CTX,
    H100,
    HOUR,
    L4,
    LLAMA_8B,
    LLAMA_70B,
    WINDOW,
    deployment,
    gpu,
    host,
    server,
)


def plan(hosts, load, **th):
    return deployment_plan.check(deployment(hosts if isinstance(hosts, list) else [hosts], load, **th), CTX)


def _fleet(n, kind=H100, util=9.0, mem_gib=20.0, model=LLAMA_8B, tp=1, host_id=1, first_id=1, kv=5.0, price=None):
    ids = range(first_id, first_id + n)
    gpus = [gpu(i, util=[util], kind=kind, mem_used_gib=mem_gib, index=i - first_id, price=price) for i in ids]
    servers = [server(first_id, gpu_ids=ids, model=model, kv=[kv], tp=tp)] if model else []
    return host(gpus=gpus, servers=servers, host_id=host_id)


# --- idle


def test_an_idle_deployment_holding_memory_is_released_whole():
    h = host(gpus=[gpu(util=[0.5, 0.5, 0.6], mem_used_gib=21.6)], servers=[server(requests=0.0, batch=0.0)])
    (f,) = plan(h, 0.5)
    assert f.kind == "idle" and f.plan_step == 1 and "Memory is still held by vllm:8001" in f.reason
    assert f.current["usd_month"] == pytest.approx(1.006 * 730) and f.proposed["usd_month"] == 0
    assert f.current["price_basis"] == "$1.006/GPU-h (A10G)" and f.proposed["price_basis"] == ""  # nothing to price
    assert f.saving.usd == pytest.approx(1.006 * 730) and f.saving.kwh == pytest.approx(150 * 730 / 1000)
    assert f.confidence >= 0.95  # 14 days at 0.5% against a 5% line
    assert f.evidence[0]["series"] == {"entity": "gpu", "id": 1, "metric": "util_pct", "aggregate": "p99"}


def test_idle_advice_names_the_p99_and_the_max_and_agrees_in_number_with_the_host():
    one = host(gpus=[gpu(util=[0.5, 0.5, 3.2], mem_used_gib=21.6)], servers=[server(requests=0.0, batch=0.0)])
    (f,) = plan(one, 0.5)
    p99 = f.evidence[0]["value"]
    assert f"Its GPU stayed under 5% utilization at p99 (p99 {p99:.1f}%, max 3.2%) over 14 days" in f.reason
    assert f.action.startswith("Stop the idle server and release the GPU, or let")
    both = server(gpu_ids=(1, 2), batch=0.0, requests=0.0)
    two = host(gpus=[gpu(1, util=[0.5]), gpu(2, util=[1.0], index=1)], servers=[both])
    (f,) = plan(two, 0.5)
    assert "Both GPUs stayed under 5% utilization at p99 (highest p99 1.0%, highest max 1.0%)" in f.reason
    assert f.action.startswith("Stop the idle server and release the GPUs,")


def test_a_spare_idle_gpu_beside_a_working_replica_is_released_alone():
    h = host(gpus=[gpu(1, util=[1.0], mem_used_gib=0), gpu(2, util=[60.0], index=1)], servers=[server(gpu_ids=(2,))])
    steps = plan(h, 60.0)
    assert steps[0].kind == "idle" and steps[0].title == "Release 1 idle GPU of chat"
    assert steps[0].proposed["spare_gpus"] == 0 and steps[0].saving.usd == pytest.approx(1.006 * 730)


@pytest.mark.parametrize(("util", "fires"), [(4.9, True), (5.0, False)])
def test_idle_at_the_p99_boundary(util, fires):
    steps = plan(host(gpus=[gpu(util=[util], mem_used_gib=0)]), util)
    assert any(f.kind == "idle" for f in steps) is fires


def test_a_gpu_that_served_requests_is_not_idle():
    assert not [f for f in plan(host(gpus=[gpu(util=[1.0])], servers=[server(requests=0.1)]), 1.0) if f.kind == "idle"]


@pytest.mark.parametrize(("hours", "fires"), [(30, True), (29.9, False)])
def test_no_advice_before_30_hours_of_data(hours, fires):
    h = host(gpus=[gpu(util=[1.0], covered=hours * HOUR)], covered=hours * HOUR)
    assert bool(plan(h, 1.0)) is fires


# --- scale_down


def test_scale_down_an_oversized_deployment_names_the_tensor_parallel_change():
    f, then = plan(_fleet(8, tp=8), 72.0)
    assert f.kind == "scale_down" and f.target_key == "deployment:chat" and f.plan_step == 1
    # The KV cache in use (its p95, from an 8-GPU pool) and the weights need 2 GPUs at bf16.
    assert f.title == "Scale down chat: 1 replica × 8 H100 80GB → 1 replica × 2 H100 80GB"
    assert "--tensor-parallel-size 2" in f.action
    assert f.current["gpus_per_replica"] == 8 and f.proposed == {**f.proposed, "gpus_per_replica": 2, "replicas": 1}
    assert f.saving.usd == pytest.approx(6 * 4.76 * 730)
    assert then.kind == "quantize" and then.current == f.proposed and then.plan_step == 2


@pytest.mark.parametrize(("load", "fires"), [(70.0, True), (70.01, False)])
def test_scale_down_at_the_target_boundary(load, fires):
    two = [_fleet(1, host_id=1, first_id=1), _fleet(1, host_id=2, first_id=2)]
    assert any(f.kind == "scale_down" for f in plan(two, load, replica_floor=1)) is fires  # 2 → 1 while it fits


def test_two_replicas_never_become_one_without_saying_so():
    pair = [_fleet(1, kind=A10G, util=5, host_id=1, first_id=1), _fleet(1, kind=A10G, util=5, host_id=2, first_id=2)]
    assert not [f for f in plan(pair, 10.0) if f.kind == "scale_down"]
    f = plan(pair, 10.0, replica_floor=1)[0]
    assert f.kind == "scale_down" and f.proposed["replicas"] == 1


def test_scale_down_never_below_what_holds_the_model():
    h = _fleet(4, kind=A100, util=5, model=LLAMA_70B, tp=4, kv=20.0)  # 141 GB of weights: 4 × 80 GB at bf16
    assert not [f for f in plan(h, 20.0) if f.kind == "scale_down"]


def test_a_schedule_saves_exactly_what_it_prints():
    day_night = [50.0] * 8 + [250.0] * 12 + [50.0] * 4  # busy 08:00–20:00 UTC
    hosts = [_fleet(1, util=40, host_id=i, first_id=i) for i in range(1, 5)]
    (f,) = plan(hosts, day_night)
    sched = f.proposed["schedule"]
    assert "08:00–20:00" in f.action and sched["peak_replicas"] == 4 and sched["off_replicas"] == 2
    mean = (4 * len(sched["peak_hours_utc"]) + 2 * (24 - len(sched["peak_hours_utc"]))) / 24
    assert f.saving.usd == pytest.approx((4 - mean) * 4.76 * 730, abs=0.01)
    assert f.title == (
        "Scale chat on a schedule: 4 replicas during 07:00–20:00 UTC, 2 otherwise (now 4 replicas × 1 H100 80GB)"
    )


def test_a_schedule_starts_its_extra_replicas_an_hour_early_and_says_so_in_one_notation():
    day_night = [50.0] * 8 + [250.0] * 12 + [50.0] * 4  # busy 08:00–20:00 UTC
    hosts = [_fleet(1, util=40, host_id=i, first_id=i) for i in range(1, 5)]
    (f,) = plan(hosts, day_night)
    assert f.proposed["schedule"]["peak_hours_utc"] == list(range(7, 20))
    assert f.proposed["schedule"]["busy_hours_utc"] == list(range(8, 20))
    assert f.proposed["summary"] == "4 replicas × 1 H100 80GB during 07:00–20:00 UTC, 2 replicas otherwise at bf16"
    assert "needs 4 replicas × 1 H100 80GB." in f.reason and "A replica of 1 H100 80GB holds the weights" in f.reason
    assert f.action.startswith(
        "Run 4 replicas × 1 H100 80GB during 07:00–20:00 UTC and 2 otherwise, e.g. with a scheduled autoscaler; "
        "the extra replicas start 1 hour before the busy hours (08:00–20:00 UTC) so that their model has loaded"
    )
    (load,) = f.evidence
    assert load["unit"] == "GPU-%" and load["threshold"] == 4 * 70.0
    assert load["threshold_note"] == "what 4 replicas × 1 GPU carry at the 70% target (4 × 70 GPU-%)"


# --- quantize


def test_a_70b_model_at_bf16_on_ampere_moves_to_int8_on_half_the_gpus():
    (f,) = plan(_fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4, kv=25.0), 120.0)
    assert f.kind == "quantize" and f.title.startswith("Quantize chat to INT8 (W8A8): 1 replica × 2 A100 80GB")
    assert "compressed-tensors" in f.action and "--tensor-parallel-size 2" in f.action
    assert f.saving.usd == pytest.approx(2 * 2.45 * 730)
    assert f.evidence[0]["sixteen_bit_gib"] == pytest.approx(131.4, abs=0.1)


def test_fp8_on_hopper_credits_its_throughput():
    # 4 × H100 at 40%: 1.6 GPUs of work. At FP8 (1.4×) 2 GPUs carry it at 57%; without the credit they could not.
    (f,) = plan(_fleet(4, kind=H100, util=40, model=LLAMA_70B, tp=4, kv=25.0), 160.0)
    assert f.kind == "quantize" and f.proposed["dtype"] == "fp8" and "--quantization fp8" in f.action
    assert f.proposed["gpus_per_replica"] == 2


def test_a_model_already_quantized_is_left_alone():
    h = _fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4, kv=35.0)
    h.servers[0].quantization = "awq"
    assert not [f for f in plan(h, 120.0) if f.kind == "quantize"]


# --- smaller_gpu and prices


def test_a_small_model_on_a_big_gpu_moves_to_a_cheaper_one():
    h = host(gpus=[gpu(kind=A100, util=[30.0])], servers=[server(kv=[10.0])])
    (f,) = plan(h, 30.0)
    assert f.kind == "smaller_gpu" and f.title == "Move chat to 1 replica × 1 A100 40GB (from 1 replica × 1 A100 80GB)"
    assert f.saving.usd == pytest.approx((2.45 - 1.29) * 730) and f.proposed["gpu_type"] == "A100 40GB"


def test_no_move_needs_more_gpus_than_it_starts_with():
    h = host(gpus=[gpu(kind=H100, util=[40.0])], servers=[server(kv=[10.0])])
    assert not [f for f in plan(h, 40.0) if f.kind == "smaller_gpu"]  # every cheaper type needs 2+ GPUs


def test_no_move_when_the_load_needs_the_bigger_gpu():
    h = host(gpus=[gpu(kind=A10G, util=[70.0])], servers=[server(kv=[50.0])])
    assert plan(h, 70.0) == []


def test_your_price_is_compared_with_a_list_price_at_the_same_discount_and_says_so():
    h = host(gpus=[gpu(kind=A100, util=[30.0], price=1.20)], servers=[server(kv=[10.0])])
    (f,) = plan(h, 30.0)
    assert f.kind == "smaller_gpu" and "your price" in f.reason and "list price ×" in f.proposed["price_basis"]
    assert f.proposed["usd_month"] == pytest.approx(1.29 * 1.20 / 2.45 * 730, abs=0.01)
    same = plan(host(gpus=[gpu(kind=A100, util=[30.0])], servers=[server(kv=[10.0])]), 30.0)[0]
    assert f.confidence < same.confidence


def test_unknown_gpu_types_are_not_sized():
    assert plan(host(gpus=[gpu(kind=None, util=[10.0])]), 10.0) == []


# --- batching


def test_requests_waiting_with_headroom_name_the_vllm_knob():
    h = host(gpus=[gpu(util=[30.0])], servers=[server(kv=[10.0], waiting=5.0, max_batch=4)])
    (f,) = batching.check(h, CTX)
    assert "--max-num-seqs from 4 to 16" in f.action and f.saving.usd == 0


def test_running_at_the_limit_binds_even_without_a_queue():
    h = host(gpus=[gpu(util=[30.0])], servers=[server(kv=[10.0], waiting=0.0, max_batch=8, at_limit=0.4)])
    (f,) = batching.check(h, CTX)
    assert "runs at its limit of 8 in 40% of busy hours" in f.reason


def test_a_small_batch_from_low_traffic_is_not_a_batching_problem():
    h = host(gpus=[gpu(util=[8.0])], servers=[server(kv=[3.0], waiting=0.0, batch=1.2, at_limit=0.0)])
    assert batching.check(h, CTX) == []


@pytest.mark.parametrize(("kv", "util"), [(60.0, 30.0), (10.0, 80.0)])
def test_no_batching_advice_without_headroom(kv, util):
    h = host(gpus=[gpu(util=[util])], servers=[server(kv=[kv], waiting=5.0, max_batch=4)])
    assert batching.check(h, CTX) == []


def test_a_kv_cache_the_server_does_not_report_is_not_zero():
    vllm = host(gpus=[gpu(util=[30.0])], servers=[server(kv=(), waiting=5.0, max_batch=4)])
    assert batching.check(vllm, CTX) == []  # pre-allocated pool, no metric: its room is unknown
    triton = host(
        gpus=[gpu(util=[25.0], mem_used_gib=3)],
        servers=[server(kind="triton", model=None, kv=(), waiting=3.0, max_batch=1, at_limit=0.5)],
    )
    (f,) = batching.check(triton, CTX)
    kv = next(e for e in f.evidence if e["metric"] == "KV cache use")
    assert kv["value"] is None and kv["reported"] is False and "GPU memory peak 12%" in f.reason
    assert "dynamic_batching" in f.action


# --- host_rightsize


def test_a_cpu_host_far_below_its_cpu_and_memory_is_right_sized():
    (f,) = host_rightsize.check(host(cpu=[8.0], mem_used_gib=48), CTX)
    # 5 vCPU of need and 48 GiB × 1.15 at 70% = 79 GiB: the cheapest sold shape is 8 vCPU / 128 GiB (16 GiB
    # each), priced as 32 vCPU at 4 GiB each; today's 32 vCPU / 256 GiB is priced the same way, as 64.
    assert f.title.startswith("Right-size node-1: 8 vCPU / 128 GiB (now 32 vCPU / 256 GiB)")
    assert f.current["usd_month"] == pytest.approx(64 * 0.0504 * 730, abs=0.01)
    assert f.proposed["usd_month"] == pytest.approx(32 * 0.0504 * 730, abs=0.01)
    assert f.saving.usd == pytest.approx(f.current["usd_month"] - f.proposed["usd_month"])
    assert steps_of(f.saving.basis) == [  # one step a line, as the page lists them
        "$0.0504/vCPU-h (RIGHTSIZER_VCPU_HOURLY_USD), × 730 h a month.",
        "Each host priced by the larger of its vCPUs and its memory ÷ 4 GiB: today 64 (32 vCPU, 256 GiB), "
        "proposed 32 (8 vCPU, 128 GiB).",
        "Energy not measured for CPUs.",
    ]


def test_a_cpu_host_costs_the_same_in_the_advice_the_plan_and_the_fleet_page(settings):
    """One basis (recommender.cpu_price): the advice's "now" is what the host and deployment pages show."""
    from recommender.summary import host_cost
    from telemetry.models import Host

    settings.VCPU_HOURLY_USD = CTX.vcpu_hourly_usd
    h = host(cpu=[1.0], mem_used_gib=10)
    (right,) = host_rightsize.check(h, CTX)
    (idle,) = plan(h, 0.0)
    page_usd, page_label = host_cost(Host(cpu_count=32, mem_total_bytes=256 * 1024**3), [], [], None)
    assert right.current["usd_month"] == idle.current["usd_month"] == page_usd == pytest.approx(64 * 0.0504 * 730)
    label = "32 vCPU / 256 GiB priced as 64 vCPU-equivalents × $0.0504/vCPU-h"
    assert right.current["price_basis"] == idle.current["price_basis"] == page_label == label
    assert right.proposed["price_basis"] == "2 vCPU / 32 GiB priced as 8 vCPU-equivalents × $0.0504/vCPU-h"
    assert right.saving.usd == pytest.approx(right.current["usd_month"] - right.proposed["usd_month"])


def test_a_user_priced_cpu_host_is_scaled_on_the_same_basis_both_sides():
    (f,) = host_rightsize.check(host(cpu=[8.0], mem_used_gib=48, price=2.0), CTX)
    assert f.current["usd_month"] == pytest.approx(2.0 * 730) and f.proposed["usd_month"] == pytest.approx(730.0)
    assert steps_of(f.saving.basis)[0] == "The host's price $2.00/h × 32/64, × 730 h a month."


@given(st.integers(1, 192), st.floats(0.5, 3072))
def test_the_shape_is_sold_fits_both_needs_and_is_the_cheapest_that_does(cpu_need, mem_need):
    vcpus, mem = host_rightsize.shape(cpu_need, mem_need)
    assert vcpus in host_rightsize.VCPU_SIZES and mem // vcpus in host_rightsize.FAMILY_GIB_PER_VCPU
    if cpu_need <= 192 and mem_need <= 192 * 16:
        assert vcpus >= cpu_need and mem >= mem_need
        for v in host_rightsize.VCPU_SIZES:
            for r in host_rightsize.FAMILY_GIB_PER_VCPU:
                if v >= cpu_need and v * r >= mem_need:
                    assert host_rightsize.units(vcpus, mem) <= host_rightsize.units(v, v * r)


def test_a_gpu_host_is_not_right_sized_by_its_cpus():
    assert host_rightsize.check(host(gpus=[gpu()], cpu=[8.0], mem_used_gib=48), CTX) == []


@pytest.mark.parametrize(("cpu", "mem"), [(25.0, 48), (8.0, 120)])
def test_a_busy_cpu_or_memory_keeps_the_host(cpu, mem):
    assert host_rightsize.check(host(cpu=[cpu], mem_used_gib=mem), CTX) == []


# --- saturation


def test_a_full_kv_cache_with_preemptions_is_saturation():
    h = host(gpus=[gpu(util=[99.0])], servers=[server(kv=[99.0], preempted=120, waiting=30.0)])
    findings = saturation.check(h, CTX)
    assert [f.kind for f in findings] == ["saturation"] and findings[0].saving.usd == 0
    assert findings[0].reason.startswith("The KV cache p95") and "preempted" in findings[0].reason


def test_saturation_figures_carry_their_unit_window_and_rounding_and_the_price_source_its_own_sentence():
    from dataclasses import replace

    label = "$4.76/GPU-h (H100 80GB: RunPod on-demand, via deploybase.ai 'RunPod GPU Pricing' (2026-03-10), 2026-03)"
    h100 = replace(H100, price_label=label)
    h = host(gpus=[gpu(kind=h100, util=[99.0])], servers=[server(kv=[99.64], preempted=12063, waiting=60.0)])
    (f,) = saturation.check(h, CTX)
    kv = f.evidence[0]["value"]
    assert f.reason.startswith(
        f"The KV cache p95 is {kv:.1f}%; 12,063 requests were preempted over the last 14 days; "
        "60 requests waiting (p95 of hourly means)."
    )
    assert f.action.startswith("Add 1 replica × 1 H100 80GB, about +$3,475/month at $4.76/GPU-h, or make room")
    assert f.action.endswith(
        " Price source: H100 80GB: RunPod on-demand, via deploybase.ai 'RunPod GPU Pricing' (2026-03-10), 2026-03."
    )


def test_a_full_kv_cache_alone_is_not_saturation():
    assert saturation.check(host(gpus=[gpu(util=[60.0])], servers=[server(kv=[95.0])]), CTX) == []


def test_pinned_utilization_is_saturation_even_without_a_server():
    (f,) = saturation.check(host(gpus=[gpu(util=[97.0], mem_used_gib=10)]), CTX)
    assert f.target_type == "gpu" and "pinned" in f.reason


# --- the whole set


def _all(h, dep_load):
    findings = [f for rule in (batching, host_rightsize, saturation) for f in rule.check(h, CTX)]
    return resolve(findings + plan(h, dep_load))


def test_a_healthy_host_gets_no_advice():
    h = host(gpus=[gpu(util=[55.0, 70.0])], servers=[server(kv=[40.0])], cpu=[40.0])
    assert _all(h, 70.0) == []


def test_too_little_data_gets_no_advice_from_any_rule():
    h = host(
        gpus=[gpu(util=[1.0], covered=20 * HOUR)],
        servers=[server(kv=[99.0], preempted=5, covered=20 * HOUR)],
        cpu=[1.0],
        covered=20 * HOUR,
    )
    assert _all(h, 1.0) == []


def test_saturation_silences_the_plan_of_the_same_deployment():
    h = host(gpus=[gpu(kind=A100, util=[30.0])], servers=[server(kv=[99.0], preempted=50)])
    assert {f.kind for f in _all(h, 30.0)} == {"saturation"}  # smaller_gpu alone would have fired (see above)


def test_a_queue_behind_the_batch_limit_holds_back_the_sizing_steps():
    h = host(gpus=[gpu(kind=A100, util=[30.0])], servers=[server(kv=[10.0], waiting=5.0, max_batch=4)])
    assert {f.kind for f in _all(h, 30.0)} == {"batching"}


def test_an_idle_deployment_is_released_not_batched_or_resized():
    h = host(
        gpus=[gpu(kind=A100, util=[1.0])],
        servers=[server(kv=[0.0], requests=0.0, batch=1.0, busy=0.0)],
        cpu=[3.0],
        mem_used_gib=20,
    )
    assert [f.kind for f in _all(h, 1.0)] == ["idle"]
    assert WINDOW == 14 * 24 * HOUR and L4.fp8
