"""Hugging Face TGI's /metrics. Its counters carry no `_total` suffix."""

from __future__ import annotations

from typing import Any

from collectors.scrapers.prometheus import Counters, Exposition, clean


def read(exp: Exposition, counters: Counters) -> tuple[dict[str, Any], dict[str, Any]]:
    batch = exp.total("tgi_batch_current_size")
    queue_s = counters.ratio(
        "queue", exp.total("tgi_request_queue_duration_sum"), exp.total("tgi_request_queue_duration_count")
    )
    reading = {
        "running": batch,
        "waiting": exp.total("tgi_queue_size"),
        "batch_size": batch,
        "prompt_tps": counters.rate("prompt", exp.total("tgi_request_input_length_sum")),
        "gen_tps": counters.rate("gen", exp.total("tgi_request_generated_tokens_sum")),
        "requests_ps": counters.rate("done", exp.total("tgi_request_success")),
        "queue_time_ms": queue_s * 1000 if queue_s is not None else None,
    }
    return {}, clean(reading)
