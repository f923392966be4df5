"""NVIDIA Triton's /metrics (port 8002), with the TensorRT-LLM backend's where present."""

from __future__ import annotations

from typing import Any

from collectors.scrapers.prometheus import Counters, Exposition, clean


def read(exp: Exposition, counters: Counters) -> tuple[dict[str, Any], dict[str, Any]]:
    # Average dynamic batch size = Δinference_count / Δexec_count (Triton's own definition).
    batch = counters.ratio("batch", exp.total("nv_inference_count"), exp.total("nv_inference_exec_count"))
    # Cumulative queue microseconds over the requests that finished meanwhile.
    queue_us = counters.ratio(
        "queue", exp.total("nv_inference_queue_duration_us"), exp.total("nv_inference_request_success")
    )
    used = exp.total("nv_trt_llm_kv_cache_block_metrics", kv_cache_block_type="used")
    total = exp.total("nv_trt_llm_kv_cache_block_metrics", kv_cache_block_type="max")
    reading = {
        "running": exp.total("nv_trt_llm_request_metrics", request_type="active"),
        "waiting": exp.total("nv_inference_pending_request_count"),
        "kv_cache_pct": 100 * used / total if used is not None and total else None,
        "batch_size": batch,
        "requests_ps": counters.rate("done", exp.total("nv_inference_request_success")),
        "queue_time_ms": queue_us / 1000 if queue_us is not None else None,
    }
    facts = clean({"model": exp.label("nv_inference_count", "model")})
    return facts, clean(reading)
