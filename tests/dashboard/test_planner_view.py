"""The planner page: a served name with suffixes, plans past one node, and "what if this deployment moved"."""

from __future__ import annotations

import pytest

from recommender.models import GpuType
from telemetry.models import Gpu, InferenceServer
from tests.dashboard import recs

pytestmark = pytest.mark.django_db
QUERY = "dtype=bfloat16&quantization=&context_tokens=8192&concurrency=16"


def test_a_served_name_is_matched_and_its_suffix_sets_the_precision(as_viewer):
    resp = as_viewer.get(f"/planner/?served=Qwen2.5-72B-Instruct-AWQ&model=meta-llama/Llama-3.1-8B&{QUERY}")
    page = resp.content.decode()
    assert "Qwen2.5-72B-Instruct-AWQ → Qwen/Qwen2.5-72B" in page
    assert "precision from the served name: 4-bit (AWQ / GPTQ)" in page
    plan = resp.context["plan"]
    assert plan.weights_bytes < 72.7e9 * 0.6  # 4-bit, not 16-bit
    assert "tokens/s" in page and "ms" in page and "3350 GB/s" not in page and "3,350 GB/s" in page
    assert "NVIDIA datasheet (H100 SXM)" in page and "60% of the datasheet memory bandwidth" in page
    bad = as_viewer.get(f"/planner/?served=my-private-model&{QUERY}")
    assert bad.context["plan"] is None and "No catalog model matches" in bad.content.decode()


def test_a_plan_past_eight_gpus_is_shown_as_nodes(as_viewer):
    page = as_viewer.get(f"/planner/?model=meta-llama/Llama-3.1-70B&{QUERY}&concurrency=32").content.decode()
    assert "2 nodes × 8: tensor parallel 8, pipeline parallel 2" in page  # L4: 16 GPUs


def test_starting_from_a_deployment_compares_every_gpu_type_with_today(as_viewer, django_assert_max_num_queries):
    host = recs.host("node-a", "chat", gpus=2)
    server = InferenceServer.objects.create(host=host, server_id="vllm:8000", kind="vllm", tensor_parallel=1,
                                            model="meta-llama/Llama-3.1-8B-Instruct-FP8", dtype="auto")  # fmt: skip
    server.gpus.set(Gpu.objects.filter(host=host, index=0))
    host2 = recs.host("node-b", "chat", gpus=1)
    InferenceServer.objects.create(host=host2, server_id="vllm:8000", kind="vllm", tensor_parallel=1,
                                   model="meta-llama/Llama-3.1-8B-Instruct-FP8").gpus.set(host2.gpus.all())  # fmt: skip
    recs.host("node-c", "unknown-model", gpus=1)
    for i in range(5):  # more deployments cost no more queries
        more = recs.host(f"node-d{i}", f"more-{i}", gpus=1)
        InferenceServer.objects.create(host=more, server_id="tgi:80", kind="tgi", model="google/gemma-2-9b-it")
    with django_assert_max_num_queries(10):
        page = as_viewer.get("/planner/").content.decode()
    assert '<option value="chat">chat</option>' in page and "unknown-model" not in page

    resp = as_viewer.get("/planner/?deployment=chat&load=1")
    start, moves = resp.context["start"], resp.context["moves"]
    assert (start.model, start.quantization, start.gpus_per_replica, start.replicas) == (
        "meta-llama/Llama-3.1-8B", "fp8", 1, 2)  # fmt: skip
    h100 = GpuType.objects.get(name="H100 80GB")
    assert start.gpu_type == h100 and start.usd_month == pytest.approx(2 * 4.76 * 730)
    assert moves[0]["today"] and moves[0]["option"].gpu_type == "H100 80GB" and moves[0]["delta"] == 0
    by_type = {m["option"].gpu_type: m for m in moves}
    assert "A100 80GB" not in by_type  # no FP8 on Ampere
    l4 = by_type["L4"]
    # 9.1 GB of FP8 weights + 17.2 GB of KV for 16 × 8k, with the margin, need two 24 GiB L4s per replica
    assert l4["option"].gpus == 2 and l4["gpus"] == 4 and l4["delta"] == pytest.approx((4 * 0.78 - 2 * 4.76) * 730)
    page = resp.content.decode()
    assert "What if chat moved to" in page and "today's type" in page and "−$4,672" in page
    assert 'value="meta-llama/Llama-3.1-8B-Instruct-FP8"' in page  # the form holds what was loaded
