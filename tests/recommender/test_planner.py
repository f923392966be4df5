"""The capacity planner against the catalog the migration loads."""

from __future__ import annotations

import pytest

from recommender.analysis import type_info
from recommender.memory import GIB, ModelShape
from recommender.models import GpuType
from recommender.planner import plan, replicas_to_carry

pytestmark = pytest.mark.django_db
LLAMA_70B = ModelShape(params=70.55e9, layers=80, kv_heads=8, head_dim=128, embedding_params=2 * 128_256 * 8192)


def _catalog():
    return [type_info(t) for t in GpuType.objects.all()]


def test_llama_70b_bf16_with_32_users_of_8k_context():
    result = plan(LLAMA_70B, "bfloat16", None, context_tokens=8192, concurrency=32, catalog=_catalog())
    assert result.kv_per_token_bytes == 320 * 1024
    assert result.kv_bytes == 320 * 1024 * 8192 * 32 == 80 * GIB
    by_type = {o.gpu_type: o for o in result.options}
    assert by_type["H100 80GB"].gpus == 4 and by_type["A100 80GB"].gpus == 4
    assert by_type["H200"].gpus == 2 and by_type["MI300X"].gpus == 2
    assert by_type["L4"].gpus == 16
    assert "T4: no bfloat16 support" in result.unfit and "V100 16GB: no bfloat16 support" in result.unfit
    assert "A100 40GB: needs more than 16 GPUs" not in result.unfit
    assert [o.usd_month for o in result.options] == sorted(o.usd_month for o in result.options)
    assert by_type["H100 80GB"].usd_month == pytest.approx(4 * 4.76 * 730)


def test_quantization_fits_fewer_gpus_and_fp8_needs_hardware_support():
    bf16 = {o.gpu_type: o.gpus for o in plan(LLAMA_70B, "bf16", None, 8192, 4, _catalog()).options}
    fp8 = plan(LLAMA_70B, "bf16", "fp8", 8192, 4, _catalog())
    fp8_fit = {o.gpu_type: o.gpus for o in fp8.options}
    assert fp8_fit["H100 80GB"] < bf16["H100 80GB"]
    assert "A100 80GB" not in fp8_fit and "A100 80GB: no fp8 support" in fp8.unfit


def test_a_custom_size_counts_weights_only_and_says_so():
    result = plan(ModelShape(13e9, 0, 0, 0), "fp16", None, 4096, 8, _catalog())
    assert result.kv_bytes == 0 and "no KV cache" in result.basis
    assert result.weights_bytes == 26e9


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        plan(LLAMA_70B, "bf16", None, 0, 1, _catalog())


LLAMA_8B = ModelShape(params=8.03e9, layers=32, kv_heads=8, head_dim=128, embedding_params=2 * 128_256 * 4096)


def test_decode_and_prefill_speed_by_hand_on_h100_and_l4():
    """Llama-3.1-8B at bf16, one user at 8k context: weights 16.06 GB, KV 128 KiB × 8,192 = 1.074 GB per step.
    H100: 3,350 GB/s × 0.6 / 17.134 GB = 117.3 tokens/s; prefill 1,024 × 2 × 8.03e9 / (989 TFLOPS × 0.5) = 33.3 ms.
    L4: 300 GB/s × 0.6 / 17.134 GB = 10.51 tokens/s; prefill / (121 TFLOPS × 0.5) = 272 ms. One GPU each."""
    result = plan(LLAMA_8B, "bfloat16", None, context_tokens=8192, concurrency=1, catalog=_catalog())
    by_type = {o.gpu_type: o for o in result.options}
    h100, l4 = by_type["H100 80GB"], by_type["L4"]
    assert h100.gpus == 1 and l4.gpus == 1 and h100.layout == "1 GPU"
    assert h100.speed.decode_tps_per_sequence == pytest.approx(117.31, rel=1e-3)
    assert h100.speed.ttft_s == pytest.approx(0.033256, rel=1e-3) and h100.speed.bound == "memory bandwidth"
    assert l4.speed.decode_tps_total == pytest.approx(10.506, rel=1e-3)
    assert l4.speed.ttft_s == pytest.approx(0.27180, rel=1e-3)
    assert h100.need_per_gpu_bytes == pytest.approx(17.134e9 * 1.15 + 1.5 * GIB, rel=1e-4)
    assert "60% of the datasheet memory bandwidth" in result.speed_basis


def test_a_large_batch_of_a_weights_only_model_is_compute_bound():
    """8B at fp16, 1,024 users, no KV counted: bandwidth would allow 2,010 GB/s / 16 GB × 1,024 = 128,640 tokens/s;
    compute caps it at 989e12 × 0.5 / (2 × 8e9) = 30,906 tokens/s on one H100."""
    result = plan(ModelShape(8e9, 0, 0, 0), "fp16", None, 4096, 1024, _catalog())
    h100 = next(o for o in result.options if o.gpu_type == "H100 80GB")
    assert h100.gpus == 1 and h100.speed.bound == "compute"
    assert h100.speed.decode_tps_total == pytest.approx(30_906.25, rel=1e-4)
    fp8 = next(o for o in plan(ModelShape(8e9, 0, 0, 0), "fp16", "fp8", 4096, 1024, _catalog()).options
               if o.gpu_type == "H100 80GB")  # fmt: skip
    assert fp8.speed.decode_tps_total == pytest.approx(2 * 30_906.25, rel=1e-4)  # FP8 tensor cores: twice


def test_past_eight_gpus_a_plan_spans_nodes_and_past_eight_nodes_it_is_refused():
    """70B at bf16, 32 users at 8k on L4 (24 GiB): 16 GPUs, two nodes of 8 — one sequence runs at one node's
    bandwidth: 8 × 180 GB/s / (141.1 GB + 32 × 2.684 GB) = 6.34 tokens/s, 203 over the batch."""
    result = plan(LLAMA_70B, "bfloat16", None, context_tokens=8192, concurrency=32, catalog=_catalog())
    l4 = next(o for o in result.options if o.gpu_type == "L4")
    assert (l4.gpus, l4.nodes, l4.tensor_parallel) == (16, 2, 8)
    assert l4.layout == "2 nodes × 8: tensor parallel 8, pipeline parallel 2"
    assert l4.speed.decode_tps_per_sequence == pytest.approx(6.343, rel=1e-3)
    assert l4.speed.decode_tps_total == pytest.approx(202.97, rel=1e-3)
    h100 = next(o for o in result.options if o.gpu_type == "H100 80GB")
    assert h100.nodes == 1 and h100.layout == "1 node, tensor parallel 4"
    huge = plan(LLAMA_70B, "bfloat16", None, context_tokens=131_072, concurrency=64, catalog=_catalog())
    assert "L4: needs more than 8 nodes of 8 GPUs" in huge.unfit
    assert all(o.gpus in (1, 2, 4, 8) or o.gpus % 8 == 0 for o in huge.options)


def test_a_gpu_is_filled_to_90_percent_at_most_as_the_recommender_sizes():
    """8B at bf16, 16 users at 8k: (16.06 GB + 17.18 GB of KV) × 1.15 + 1.5 GiB = 39.84 GB, 92.8% of one A100 40GB:
    over the 90% vLLM takes by default, so two (48.3% each); one H100 80GB holds it at 46.4%."""
    result = plan(LLAMA_8B, "bfloat16", None, context_tokens=8192, concurrency=16, catalog=_catalog())
    by_type = {o.gpu_type: o for o in result.options}
    assert by_type["A100 40GB"].gpus == 2 and by_type["A100 40GB"].memory_fill_pct == pytest.approx(48.25, abs=0.01)
    assert by_type["H100 80GB"].gpus == 1 and by_type["H100 80GB"].memory_fill_pct == pytest.approx(46.38, abs=0.01)
    assert all(o.memory_fill_pct <= 90 for o in result.options)
    assert "within 90% of each GPU's memory" in result.basis


def test_replicas_are_added_until_the_estimate_carries_the_observed_peak():
    """8B at bf16, 19 users of 4,790 tokens: a step reads 16.06 GB + 19 × 0.628 GB = 27.99 GB. One H100:
    3,350 GB/s × 0.6 / 27.99 GB × 19 = 1,364 tokens/s, so 1,900 tokens/s needs 2 replicas; an RTX 4090 replica
    (2 GPUs) 2 × 1,008 × 0.6 / 27.99 × 19 = 821 → 3; without an observed peak, the replicas given."""
    result = plan(LLAMA_8B, "bfloat16", None, context_tokens=4790, concurrency=19, catalog=_catalog())
    by_type = {o.gpu_type: o for o in result.options}
    h100, rtx = by_type["H100 80GB"], by_type["RTX 4090"]
    assert h100.speed.decode_tps_total == pytest.approx(1364.47, rel=1e-3)
    assert rtx.gpus == 2 and rtx.speed.decode_tps_total == pytest.approx(821.13, rel=1e-3)
    assert replicas_to_carry(h100, 1900, 1) == 2 and replicas_to_carry(rtx, 1900, 1) == 3
    assert replicas_to_carry(h100, 1900, 4) == 4 and replicas_to_carry(h100, None, 1) == 1
    assert replicas_to_carry(h100, 1364.0, 1) == 1
