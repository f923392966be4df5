"""Matching what the agent reports to catalog entries: GPU names to types, served model names to shapes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from recommender.memory import ModelShape
from recommender.models import GpuType, ModelSpec

# A type whose memory differs more than this from the GPU's is a false match ("NVIDIA L40" is not an L4).
MEMORY_TOLERANCE = 0.25
# Served names carry the model's name among decorations: an org, a path, and suffixes.
_SUFFIXES = re.compile(
    r"[-_.](instruct|chat|it|hf|base|awq|gptq|gguf|fp8|int8|int4|w8a8|w4a16|4bit|8bit|bnb|nf4|dynamic|quantized"
    r"|v\d+(\.\d+)?)$"
)
# The precision a served name declares by its suffix ("-AWQ", "-FP8-dynamic", ".w8a8"), as the planner's
# quantization keys (recommender.memory): 4-bit first, so "w4a16" is not read as 8-bit.
_PRECISION_IN_NAME = [
    ("awq", re.compile(r"(?:^|[-_.])(?:awq|gptq|int4|w4a16|4bit|bnb|nf4)(?=$|[-_.])")),
    ("fp8", re.compile(r"(?:^|[-_.])fp8(?=$|[-_.])")),
    ("int8", re.compile(r"(?:^|[-_.])(?:int8|w8a8|8bit)(?=$|[-_.])")),
]
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", re.IGNORECASE)
_MOE = re.compile(r"(\d+)x(\d+(?:\.\d+)?)b", re.IGNORECASE)


def match_gpu_type(nvml_name: str, memory_bytes: int | None, types: Iterable[GpuType]) -> GpuType | None:
    """The type whose name fragment is in the NVML name; the longest fragment, then the closest memory."""
    name = nvml_name.lower()
    best: tuple[int, float, GpuType] | None = None
    for gpu_type in types:
        fragments = [f.strip() for f in gpu_type.match_names.split(",") if f.strip()]
        length = max((len(f) for f in fragments if f in name), default=0)
        if not length:
            continue
        distance = abs(memory_bytes - gpu_type.memory_bytes) / gpu_type.memory_bytes if memory_bytes else 0.0
        if distance > MEMORY_TOLERANCE:
            continue
        if best is None or (distance, -length) < (best[1], -best[0]):
            best = (length, distance, gpu_type)
    return best[2] if best else None


@dataclass(frozen=True)
class ModelMatch:
    shape: ModelShape
    name: str  # the catalog name, or the served name when sized from it
    basis: str  # "catalog" or how the size was read


def normalize(served: str) -> str:
    name = served.strip().lower().rstrip("/").rsplit("/", 1)[-1]
    previous = None
    while previous != name:
        previous, name = name, _SUFFIXES.sub("", name)
    return name


def match_model(served: str, specs: Iterable[ModelSpec]) -> ModelMatch | None:
    """Catalog entry by name or alias (the longest that fits), else the size written in the name ("70B")."""
    if not served:
        return None
    name = normalize(served)
    best: tuple[int, ModelSpec] | None = None
    for spec in specs:
        keys = [normalize(spec.name), *(a.strip() for a in spec.aliases.split(",") if a.strip())]
        for key in keys:
            if key and _names(key, name):
                if best is None or len(key) > best[0]:
                    best = (len(key), spec)
    if best:
        spec = best[1]
        shape = ModelShape(spec.params, spec.layers, spec.kv_heads, spec.head_dim, spec.embedding_params)
        return ModelMatch(shape, spec.name, "catalog")
    params = params_from_name(name)
    if params is None:
        return None
    # Without layers and heads the KV size per token is unknown: only weights are counted.
    return ModelMatch(ModelShape(params, 0, 0, 0), served, f"size in the name ({params / 1e9:g}B parameters)")


def _names(key: str, name: str) -> bool:
    """Whether `name` holds `key` between separators: "meta-llama-3.1-8b" holds "llama-3.1-8b", but
    "qwen2.5-72b" does not hold "qwen2.5-7b", nor "codellama-70b" "llama-70b"."""
    return re.search(rf"(?:^|[-_.]){re.escape(key)}(?=$|[-_.])", name) is not None


def precision_from_name(served: str) -> str | None:
    """The quantization a served name's suffix declares ("awq", "fp8" or "int8"), or None (16-bit)."""
    name = served.strip().lower().rsplit("/", 1)[-1]
    return next((key for key, pattern in _PRECISION_IN_NAME if pattern.search(name)), None)


def params_from_name(name: str) -> float | None:
    moe = _MOE.search(name)
    if moe:  # "8x7b": experts share attention, so this overstates a little; it errs on the safe side
        return float(moe.group(1)) * float(moe.group(2)) * 1e9
    sizes = [float(m.group(1)) * (1e9 if m.group(2).lower() == "b" else 1e6) for m in _SIZE.finditer(name)]
    return max(sizes) if sizes else None
