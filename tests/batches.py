"""Build ingest payloads as an agent would send them."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

GIB = 1024**3


def gpu_info(uuid: str = "GPU-aaaa", index: int = 0, name: str = "NVIDIA A10G") -> dict[str, Any]:
    return {"uuid": uuid, "index": index, "name": name, "memory_total": 24 * GIB, "power_limit_w": 300.0}


def server_info(server_id: str = "vllm:8000", gpu_uuids: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": server_id,
        "kind": "vllm",
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "dtype": "bfloat16",
        "quantization": None,
        "tensor_parallel": 1,
        "max_batch_size": 256,
        "gpu_uuids": ["GPU-aaaa"] if gpu_uuids is None else gpu_uuids,
    }


def gpu_reading(uuid: str = "GPU-aaaa", **values: Any) -> dict[str, Any]:
    return {"uuid": uuid, "util_pct": 35.0, "mem_used": 20 * GIB, "power_w": 210.5, "temp_c": 61.0, **values}


def server_reading(server_id: str = "vllm:8000", **values: Any) -> dict[str, Any]:
    return {
        "id": server_id,
        "running": 3,
        "waiting": 0,
        "kv_cache_pct": 12.0,
        "batch_size": 2.6,
        "preempted": 0,
        "prompt_tps": 1200.0,
        "gen_tps": 340.0,
        **values,
    }


def batch(
    *,
    machine_id: str = "machine-1",
    hostname: str = "gpu-node-7",
    gpus: list[dict] | None = None,
    servers: list[dict] | None = None,
    n_samples: int = 3,
    start: float | None = None,
    interval_s: float = 5.0,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A host with (by default) one GPU and one vLLM server, and n samples ending now."""
    gpus = [gpu_info()] if gpus is None else gpus
    servers = [server_info(gpu_uuids=[g["uuid"] for g in gpus][:1])] if servers is None else servers
    start = time.time() - n_samples * interval_s if start is None else start
    samples = [
        {
            "ts": round(start + i * interval_s, 3),
            "cpu_pct": 12.5,
            "mem_used": 40 * GIB,
            "net_rx_bps": 1.2e6,
            "net_tx_bps": 3.4e5,
            "gpus": [gpu_reading(g["uuid"]) for g in gpus],
            "servers": [server_reading(s["id"]) for s in servers],
        }
        for i in range(n_samples)
    ]
    return {
        "agent": {"version": "0.1.0"},
        "host": {
            "hostname": hostname,
            "machine_id": machine_id,
            "cpu_count": 32,
            "mem_total": 256 * GIB,
            "os": "Linux 6.8.0",
            "labels": {"deployment": "chat-prod"} if labels is None else labels,
            "instance_type": "g5.12xlarge",
        },
        "gpus": gpus,
        "servers": servers,
        "samples": samples,
    }


def post(client, token: str | None, payload: Any, *, gzipped: bool = False, **headers: str):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if gzipped:
        body = gzip.compress(body)
        headers.setdefault("HTTP_CONTENT_ENCODING", "gzip")
    if token is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
    return client.post("/api/v1/ingest", data=body, content_type="application/json", **headers)
