"""The capacity planner against the catalog the migration loads."""

from __future__ import annotations

import pytest

from recommender.analysis import type_info
from recommender.memory import GIB, ModelShape
from recommender.models import GpuType
from recommender.planner import plan

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
