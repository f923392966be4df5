"""The planner page: a served name with suffixes, plans past one node, and "what if this deployment moved"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommender.models import GpuType, Recommendation
from telemetry.models import Gpu, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H
from telemetry.rollups import floor_to
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
    assert "on 2 replicas × 1 H100 80GB, $6,950/month at GPU prices" in page  # the advice's notation
    assert "Each row runs all 2 replicas on that type, 16 concurrent requests each." in page
    assert "No hourly rollups of chat in the last 14 days" in page  # so the form's concurrency stays


def _observed_deployment() -> InferenceServer:
    """One replica of Llama-3.1-8B at bf16 on one H100, with 20 hourly rollups in the window: running 1…20,
    generated tokens/s 100…2,000, and a KV cache at 15–20% for 95% of the time, 20–25% for the rest."""
    host = recs.host("node-o", "observed", gpus=1)
    server = InferenceServer.objects.create(host=host, server_id="vllm:8000", kind="vllm", tensor_parallel=1,
                                            model="meta-llama/Llama-3.1-8B-Instruct", dtype="bfloat16")  # fmt: skip
    server.gpus.set(host.gpus.all())
    hi = floor_to(timezone.now(), PERIOD_1H)
    ServerRollup.objects.bulk_create(
        ServerRollup(server=server, period_s=PERIOD_1H, ts=hi - timedelta(hours=i + 1), samples=60, covered_s=3600,
                     running_mean=i + 1.0, gen_tps_mean=100.0 * (i + 1), kv_h07=19, kv_h08=20 if i == 0 else 0)
        for i in range(20)
    )  # fmt: skip
    ServerRollup.objects.create(
        server=server,
        period_s=PERIOD_1H,
        ts=hi - timedelta(days=15),
        samples=60,
        covered_s=3600,
        running_mean=900.0,
        gen_tps_mean=90_000.0,
    )  # before the window
    return server


def test_a_loaded_deployment_is_planned_at_its_observed_load_and_throughput(as_viewer):
    """p95 (nearest rank, 19th of 20 hours): 19 running per replica, 1,900 tokens/s. KV p95 = 20% of the pool
    0.9 × 80 GiB − 16.06 GB − 1.5 GiB = 55.54 GiB: 11.11 GiB, 91,002 tokens of 128 KiB, ÷ 19 = 4,790 per request.
    At 19 × 4,790 one H100 makes 1,364 tokens/s (tests/recommender/test_planner.py): 2 replicas carry 1,900;
    RTX 4090 (2 GPUs a replica, 821 tokens/s) 3; L4 (2 GPUs, 244 tokens/s) 8."""
    _observed_deployment()
    resp = as_viewer.get("/planner/?deployment=observed&load=1")
    form, observed = resp.context["form"], resp.context["observed"]
    assert (observed.running_p95, observed.gen_tps_p95, observed.hours) == (19.0, 1900.0, 20)
    assert observed.kv_p95_pct == pytest.approx(20.0) and observed.context_tokens == 4790
    assert form.cleaned_data["concurrency"] == 19 and form.cleaned_data["context_tokens"] == 4790
    by_type = {m["option"].gpu_type: m for m in resp.context["moves"]}
    h100, rtx, l4 = by_type["H100 80GB"], by_type["RTX 4090"], by_type["L4"]
    assert (h100["replicas"], h100["gpus"], h100["for_throughput"]) == (2, 2, True)
    assert h100["delta"] == pytest.approx(4.76 * 730)  # one H100 more than today, not a saving
    assert (rtx["replicas"], rtx["gpus"]) == (3, 6) and rtx["carries_tps"] == pytest.approx(3 * 821.13, rel=1e-3)
    assert (l4["replicas"], l4["gpus"]) == (8, 16) and l4["carries_tps"] >= 1900
    assert all(m["carries_tps"] >= 1900 for m in resp.context["moves"])
    page = resp.content.decode()
    assert "p95 running requests per replica (hourly means) 19" in page and "4,790 tokens of context" in page
    assert "Each row runs the 1 replica on that type" in page and "runs all" not in page
    assert "for tokens/s" in page and "advice-note" not in page


def test_where_the_advice_runs_another_count_of_todays_type_the_page_says_why(as_viewer):
    _observed_deployment()
    agreed = recs.config("H100 80GB", 1, 2, "bf16", 2 * 4.76 * 730, 100.0)
    recs.rec("scale_down", "observed", step=1, current=recs.config("H100 80GB", 1, 1, "bf16", 4.76 * 730, 50.0),
             proposed=agreed)  # fmt: skip
    assert "advice-note" not in as_viewer.get("/planner/?deployment=observed&load=1").content.decode()
    schedule = {"peak_replicas": 3, "off_replicas": 1, "peak_hours_utc": [9, 10], "text": "09:00–11:00 UTC"}
    Recommendation.objects.update(proposed=recs.config("H100 80GB", 1, 3, "bf16", 1.0, 1.0, schedule=schedule))
    page = as_viewer.get("/planner/?deployment=observed&load=1").content.decode()
    assert ("The advice for observed runs 3 replicas × 1 H100 80GB at peak (09:00–11:00 UTC), 1 otherwise; this "
            "row runs 2 replicas × 1 H100 80GB.") in page  # fmt: skip
    assert "schedules them by hour" in page and "for the peak, around the clock" in page
    assert "the tokens/s decide: one replica is estimated at 1,364 tokens/s against the observed p95 of 1,900" in page
