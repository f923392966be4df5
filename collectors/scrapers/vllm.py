"""vLLM's /metrics. Sums across the `engine` label (data-parallel engines)."""

from __future__ import annotations

from typing import Any

from collectors.scrapers.prometheus import Counters, Exposition, clean


def read(exp: Exposition, counters: Counters) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inventory facts, reading) from one scrape."""
    # 0–1 fractions; the name changed from gpu_cache_usage_perc to kv_cache_usage_perc.
    kv = exp.mean("vllm:kv_cache_usage_perc")
    if kv is None:
        kv = exp.mean("vllm:gpu_cache_usage_perc")
    preempted = counters.delta("preempt", exp.total("vllm:num_preemptions_total"))
    running = exp.total("vllm:num_requests_running")
    # Tokens per engine step: in steady decoding, the number of sequences per batch.
    per_step = counters.ratio(
        "iter", exp.total("vllm:iteration_tokens_total_sum"), exp.total("vllm:iteration_tokens_total_count")
    )
    queue_s = counters.ratio(
        "queue", exp.total("vllm:request_queue_time_seconds_sum"),
        exp.total("vllm:request_queue_time_seconds_count"),
    )  # fmt: skip
    reading = {
        "running": running,
        "waiting": exp.total("vllm:num_requests_waiting"),
        "kv_cache_pct": kv * 100 if kv is not None else None,
        "batch_size": per_step if per_step is not None else running,
        "preempted": preempted[0] if preempted else None,
        "prompt_tps": counters.rate("prompt", exp.total("vllm:prompt_tokens_total")),
        "gen_tps": counters.rate("gen", exp.total("vllm:generation_tokens_total")),
        "requests_ps": counters.rate("done", exp.total("vllm:request_success_total")),
        "queue_time_ms": queue_s * 1000 if queue_s is not None else None,
    }
    facts = clean({"model": exp.label("vllm:num_requests_running", "model_name")})
    return facts, clean(reading)
