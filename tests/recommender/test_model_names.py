"""Served model names as people write them, matched to the catalog's shapes, and the precision their suffix says."""

from __future__ import annotations

import pytest

from recommender.catalog import match_model, precision_from_name
from recommender.models import ModelSpec

pytestmark = pytest.mark.django_db

SERVED = [
    ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B", None),
    ("meta-llama/Meta-Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-70B", None),
    ("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", "meta-llama/Llama-3.1-70B", "awq"),
    ("neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8", "meta-llama/Llama-3.1-8B", "fp8"),
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8", "meta-llama/Llama-3.1-8B", "int8"),
    ("LLAMA-3.1-8B-INSTRUCT", "meta-llama/Llama-3.1-8B", None),
    ("Qwen2.5-72B-Instruct-AWQ", "Qwen/Qwen2.5-72B", "awq"),
    ("Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4", "Qwen/Qwen2.5-72B", "awq"),
    ("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B", None),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-v0.3", None),
    ("TheBloke/Mistral-7B-Instruct-v0.2-GPTQ", "mistralai/Mistral-7B-v0.3", "awq"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mixtral-8x7B-v0.1", None),
    ("google/gemma-2-9b-it", "google/gemma-2-9b", None),
    ("microsoft/Phi-3-mini-128k-instruct", "microsoft/Phi-3-mini-4k-instruct", None),
    ("some-org/llama-3.1-8b-chat-hf", "meta-llama/Llama-3.1-8B", None),
]
# Names that must NOT be taken for a catalog model: another size, family or generation of a neighbour.
NOT_IN_CATALOG = [
    "Qwen/Qwen2.5-14B-Instruct",  # not the 7B nor the 72B
    "meta-llama/Llama-3.2-1B-Instruct",
    "codellama/CodeLlama-70b-Instruct-hf",
    "google/gemma-2-27b-it",
    "microsoft/Phi-3-medium-4k-instruct",
    "mistralai/Mixtral-8x22B-Instruct-v0.1",
    "mistralai/Mistral-Nemo-Instruct-2407",
    "tinyllama-3.1-8b",
]


@pytest.mark.parametrize(("served", "catalog_name", "precision"), SERVED)
def test_a_served_name_finds_its_catalog_model_and_precision(served, catalog_name, precision):
    match = match_model(served, ModelSpec.objects.all())
    assert match is not None and match.basis == "catalog" and match.name == catalog_name, served
    assert precision_from_name(served) == precision


def test_a_neighbour_is_never_taken_for_a_catalog_model():
    specs = list(ModelSpec.objects.all())
    wrong = {s: m.name for s in NOT_IN_CATALOG if (m := match_model(s, specs)) and m.basis == "catalog"}
    assert wrong == {}
    sized = match_model("Qwen/Qwen2.5-14B-Instruct", specs)
    assert sized.shape.params == 14e9 and sized.shape.layers == 0  # sized from the name, weights only
    assert match_model("mistralai/Mistral-Nemo-Instruct-2407", specs) is None  # no size in the name either
