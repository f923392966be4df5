"""Lower precisions a 16-bit deployment can move to: bytes per weight, the throughput they buy, and the
flag each inference server takes for them. Catalog facts, each with its source.

Throughput factors are credited below the published "up to" figures, because they hold for
the memory-bound decode of moderate batches and shrink when a deployment is compute-bound.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Precision:
    key: str  # bytes-per-weight key for recommender.memory
    label: str
    throughput: float  # credited speed-up over 16-bit at the same load
    needs: str  # GPU capability: "fp8", "int8" or "" (runs everywhere)
    source: str  # one bracket-free sentence body: where the throughput figure comes from
    risk: str  # what it costs in accuracy, and where that figure comes from
    differs: str  # its accuracy, what sets it apart beside another precision on the same GPU type


# Accuracy: Kurtic et al., "Give Me BF16 or Give Me Death? Accuracy-Performance Trade-Offs in LLM
# Quantization", ACL 2025: over 500,000 evaluations of the Llama-3.1 family on academic benchmarks and
# real-world tasks.
ACCURACY_SOURCE = "Kurtic et al., ACL 2025, Llama-3.1 on academic benchmarks and real-world tasks"
FP8_RISK = f"FP8 weights and activations were effectively lossless in accuracy across model sizes ({ACCURACY_SOURCE})."
INT8_RISK = f"Well-tuned INT8 weights and activations lost 1–3% accuracy ({ACCURACY_SOURCE})."
FOUR_BIT_RISK = "4-bit weights cost a few percent on hard tasks (math, code, long reasoning): evaluate on your traffic."

PRECISIONS = [
    Precision(
        "fp8",
        "FP8 (W8A8)",
        1.4,
        "fp8",
        "vLLM docs on FP8 W8A8, 2026-11: half the weight memory, up to 1.6× throughput on Hopper and Ada",
        FP8_RISK,
        "effectively lossless in accuracy",
    ),
    Precision(
        "int8",
        "INT8 (W8A8)",
        1.2,
        "int8",
        "vLLM docs on INT8 W8A8, 2026-11: runs on compute capability 7.5 and up; NVIDIA A100 and H100 "
        "datasheets: INT8 tensor cores run at twice the 16-bit rate; credited 1.2× end to end",
        INT8_RISK,
        "1–3% accuracy loss",
    ),
    Precision(
        "awq",
        "INT4 (W4A16, AWQ)",
        1.3,
        "",
        "Marlin kernels, Frantar et al., 2024: near 4× at batch 16 or less, falling toward 1.5× at batch 128; "
        "credited 1.3×, 2026-11",
        FOUR_BIT_RISK,
        "a few percent accuracy lost on hard tasks",
    ),
]
BY_KEY = {p.key: p for p in PRECISIONS}

# How each server kind is told to serve a precision: (instruction, the flag and value it names).
# Every value is one the server accepts (tests/recommender/test_precisions.py holds their lists).
ACTIONS: dict[str, dict[str, str]] = {
    "vllm": {
        "fp8": "add `--quantization fp8` (vLLM quantizes the 16-bit checkpoint at load)",
        "int8": "serve a W8A8 INT8 checkpoint made with llm-compressor; vLLM reads its `compressed-tensors` "
        "format from the checkpoint, no flag needed",
        "awq": "serve an AWQ INT4 checkpoint of the same model with `--quantization awq_marlin`",
    },
    "tgi": {
        "fp8": "add `--quantize fp8` (TGI quantizes at load)",
        "awq": "serve an AWQ INT4 checkpoint of the same model with `--quantize awq`",
    },
    "sglang": {
        "fp8": "add `--quantization fp8`",
        "int8": "serve a W8A8 INT8 checkpoint with `--quantization w8a8_int8`",
        "awq": "serve an AWQ INT4 checkpoint with `--quantization awq_marlin`",
    },
    "triton": {
        "fp8": "rebuild the TensorRT-LLM engine from an FP8 checkpoint (`quantize.py --qformat fp8`)",
        "int8": "rebuild the TensorRT-LLM engine with SmoothQuant INT8 (`quantize.py --qformat int8_sq`)",
        "awq": "rebuild the TensorRT-LLM engine with INT4 AWQ (`quantize.py --qformat int4_awq`)",
    },
}


def action(server_kind: str, key: str) -> str | None:
    """The instruction for `server_kind`, or None where the server has no such path."""
    return ACTIONS.get(server_kind, {}).get(key)


def runs_on(precision: Precision, fp8: bool, int8: bool) -> bool:
    return {"fp8": fp8, "int8": int8}.get(precision.needs, True)
