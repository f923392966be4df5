"""Find inference servers on this host from their command lines.

A listening process whose command line shows vLLM, TGI, Triton or SGLang
becomes a scrape target; the same command line gives the served model,
dtype, quantization, tensor-parallel size and batch limit where it names them.
"""

from __future__ import annotations

import logging
from typing import Any

import psutil

log = logging.getLogger("rightsizer.agent.discovery")

# (kind, how to recognise it in argv, default metrics port or None for "its HTTP port")
SIGNATURES: list[tuple[str, tuple[str, ...]]] = [
    ("vllm", ("vllm.entrypoints", "vllm serve", "/vllm serve", "vllm/entrypoints")),
    ("sglang", ("sglang.launch_server", "sglang/launch_server", "sglang serve")),
    ("tgi", ("text-generation-launcher", "text-generation-router", "text-generation-server")),
    ("triton", ("tritonserver",)),
]
FLAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "vllm": {"model": ("--model",), "dtype": ("--dtype",), "quantization": ("--quantization", "-q"),
             "tensor_parallel": ("--tensor-parallel-size", "-tp"), "max_batch_size": ("--max-num-seqs",),
             "port": ("--port",)},
    "tgi": {"model": ("--model-id",), "dtype": ("--dtype",), "quantization": ("--quantize",),
            "tensor_parallel": ("--num-shard",), "max_batch_size": ("--max-batch-size",), "port": ("--port",)},
    "sglang": {"model": ("--model-path", "--model"), "dtype": ("--dtype",), "quantization": ("--quantization",),
               "tensor_parallel": ("--tp-size", "--tp"), "max_batch_size": ("--max-running-requests",),
               "port": ("--port",)},
    "triton": {"port": ("--metrics-port",)},
}  # fmt: skip
DEFAULT_PORTS = {"vllm": 8000, "tgi": 80, "sglang": 30000, "triton": 8002}
INT_FIELDS = {"tensor_parallel", "max_batch_size", "port"}


def kind_of(cmdline: list[str]) -> str | None:
    text = " ".join(cmdline)
    for kind, needles in SIGNATURES:
        if any(n in text for n in needles):
            return kind
    return None


def parse_cmdline(kind: str, cmdline: list[str]) -> dict[str, Any]:
    """Flags of interest from argv (`--flag value` and `--flag=value`)."""
    found: dict[str, Any] = {}
    wanted = FLAGS.get(kind, {})
    for i, arg in enumerate(cmdline):
        name, eq, inline = arg.partition("=")
        for key, flags in wanted.items():
            if name in flags:
                value = inline if eq else (cmdline[i + 1] if i + 1 < len(cmdline) else None)
                if value is not None:
                    found[key] = _convert(key, value)
    if kind == "vllm" and "model" not in found:  # `vllm serve MODEL …`
        for i, arg in enumerate(cmdline[:-1]):
            if arg == "serve" and not cmdline[i + 1].startswith("-"):
                found["model"] = cmdline[i + 1]
    return {k: v for k, v in found.items() if v is not None}


def _convert(key: str, value: str) -> Any:
    if key in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return None
    return value


def discover() -> list[dict[str, Any]]:
    """[{kind, pid, port, model, …}] for inference servers listening on this host."""
    listening: dict[int, set[int]] = {}
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.pid:
                listening.setdefault(conn.pid, set()).add(conn.laddr.port)
    except psutil.AccessDenied:
        log.info("event=discovery_limited reason='listening sockets need root; using command lines only'")
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        kind = kind_of(cmdline)
        if kind is None:
            continue
        info = parse_cmdline(kind, cmdline)
        ports = listening.get(proc.info["pid"], set())
        port = info.pop("port", None) or (min(ports) if ports else DEFAULT_PORTS[kind])
        if listening and not ports:
            continue  # a helper process of the server (tokenizer, shard): not the endpoint
        found.append({"kind": kind, "pid": proc.info["pid"], "port": port, **info})
    return found
