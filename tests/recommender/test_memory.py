"""Memory arithmetic against worked examples."""

from __future__ import annotations

import pytest

from recommender.memory import (
    GIB,
    ModelShape,
    UnknownDtype,
    bytes_per_param,
    gpus_needed,
    kv_bytes_per_token,
    kv_pool_bytes,
    memory_need,
    runtime_overhead,
    tokens_of_kv,
    weight_bytes,
)

GB = 1e9
# Llama-3.1-70B: 70.55 B parameters, 80 layers, 8 KV heads of 128; vocab 128,256 × hidden 8,192,
# embedding and output head untied (2 × 1.05 B).
LLAMA_70B = ModelShape(params=70.55e9, layers=80, kv_heads=8, head_dim=128, embedding_params=2 * 128_256 * 8192)
# Llama-3.1-8B: 8.03 B, 32 layers, 8 KV heads of 128.
LLAMA_8B = ModelShape(params=8.03e9, layers=32, kv_heads=8, head_dim=128, embedding_params=2 * 128_256 * 4096)


def test_llama_70b_bf16_weights_are_about_141_gb():
    assert weight_bytes(LLAMA_70B, "bfloat16") / GB == pytest.approx(141.1, abs=0.1)


def test_llama_70b_kv_cache_is_320_kib_per_token():
    assert kv_bytes_per_token(LLAMA_70B) == 320 * 1024  # 2 × 80 × 8 × 128 × 2 bytes
    assert kv_bytes_per_token(LLAMA_70B, kv_bytes=1) == 160 * 1024  # an fp8 KV cache halves it


def test_quantized_weights_keep_embeddings_at_16_bit():
    embeddings = 2 * 128_256 * 8192
    int8 = weight_bytes(LLAMA_70B, "bfloat16", "int8")
    assert int8 == pytest.approx((70.55e9 - embeddings) * 1 + embeddings * 2)
    assert int8 / GB == pytest.approx(72.7, abs=0.1)
    awq = weight_bytes(LLAMA_70B, "float16", "awq")
    assert awq / GB == pytest.approx((70.55e9 - embeddings) * 0.52 / GB + embeddings * 2 / GB)
    assert 38 < awq / GB < 40


def test_the_70b_needs_four_80gb_gpus_at_bf16_two_at_int8_one_at_4_bit():
    h100 = 80 * GB
    assert gpus_needed(weight_bytes(LLAMA_70B, "bf16"), h100) == 4  # 141 GB × 1.15 + overhead > 2 GPUs
    assert gpus_needed(weight_bytes(LLAMA_70B, "bf16", "int8"), h100) == 2
    assert gpus_needed(weight_bytes(LLAMA_70B, "bf16", "awq"), h100) == 1
    assert gpus_needed(weight_bytes(LLAMA_70B, "bf16"), 24 * GB, sizes=(1, 2, 4)) is None


def test_dtype_names_as_servers_spell_them():
    assert bytes_per_param("bfloat16") == bytes_per_param("bf16") == bytes_per_param("auto") == 2.0
    assert bytes_per_param("float32") == 4.0
    assert bytes_per_param("bfloat16", "fp8") == 1.0
    assert bytes_per_param("float16", "gptq_marlin") == 0.52
    assert bytes_per_param("float16", "awq_marlin") == 0.52
    assert bytes_per_param("", None) == 2.0
    with pytest.raises(UnknownDtype, match="unknown dtype"):
        bytes_per_param("float13")


def test_memory_need_uses_the_servers_kv_metric_not_nvml():
    # vLLM serving Llama-3.1-8B on one 80 GB GPU at 10% KV use; NVML shows ~90% used.
    gpu = 80 * GB
    need = memory_need(LLAMA_8B, "bfloat16", None, gpus=1, gpu_memory_bytes=gpu, kv_cache_pct=10.0,
                       nvml_used_bytes=0.9 * gpu)  # fmt: skip
    weights = weight_bytes(LLAMA_8B, "bfloat16")
    pool = 0.9 * gpu - weights - 1.5 * GIB
    assert need.weights == weights and need.kv_in_use == pytest.approx(0.1 * pool)
    assert need.total == pytest.approx(weights + 0.1 * pool + 1.5 * GIB)
    assert need.total < 0.4 * gpu  # far below what NVML shows
    assert "KV-cache use (10% of its pool)" in need.basis


def test_memory_need_falls_back_to_nvml_and_says_so():
    need = memory_need(LLAMA_8B, "bfloat16", None, gpus=1, gpu_memory_bytes=24 * GB, nvml_used_bytes=20 * GB)
    assert need.total == 20 * GB and "NVML" in need.basis
    need = memory_need(None, "", None, gpus=1, gpu_memory_bytes=24 * GB, nvml_used_bytes=5 * GB)
    assert need.total == 5 * GB
    only_weights = memory_need(LLAMA_8B, "bfloat16", None, gpus=1, gpu_memory_bytes=24 * GB)
    assert "weights only" in only_weights.basis
    with pytest.raises(ValueError, match="no basis"):
        memory_need(None, "", None, gpus=1, gpu_memory_bytes=24 * GB)


def test_kv_pool_and_context_tokens():
    weights = weight_bytes(LLAMA_70B, "bf16")
    pool = kv_pool_bytes(80 * GB, 4, weights)
    assert pool == pytest.approx(0.9 * 320 * GB - weights - runtime_overhead(4))
    assert tokens_of_kv(pool, LLAMA_70B) == int(pool // (320 * 1024))
    assert kv_pool_bytes(24 * GB, 1, weights) == 0.0  # weights alone overflow: no pool, not negative
