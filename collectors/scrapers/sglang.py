"""SGLang's /metrics."""

from __future__ import annotations

from typing import Any

from collectors.scrapers.prometheus import Counters, Exposition, clean


def read(exp: Exposition, counters: Counters) -> tuple[dict[str, Any], dict[str, Any]]:
    running = exp.total("sglang:num_running_reqs")
    usage = exp.mean("sglang:token_usage")  # 0–1 share of the KV pool in use
    reading = {
        "running": running,
        "waiting": exp.total("sglang:num_queue_reqs"),
        "kv_cache_pct": usage * 100 if usage is not None else None,
        "batch_size": running,
        "gen_tps": exp.total("sglang:gen_throughput"),
        "prompt_tps": counters.rate("prompt", exp.total("sglang:prompt_tokens_total")),
        "requests_ps": counters.rate("done", exp.total("sglang:num_requests_total")),
    }
    facts = clean({"model": exp.label("sglang:num_running_reqs", "model_name")})
    return facts, clean(reading)
