"""Inference-server scrapers: one module per server kind, one Scraper per endpoint."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collectors.scrapers import sglang, tgi, triton, vllm
from collectors.scrapers.prometheus import Counters, Exposition

log = logging.getLogger("rightsizer.agent.scrape")

READERS = {"vllm": vllm.read, "tgi": tgi.read, "triton": triton.read, "sglang": sglang.read}


def fetch_text(url: str, timeout_s: float = 3.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - configured URLs
        return resp.read().decode("utf-8", errors="replace")


@dataclass
class Scraper:
    """One inference server's metrics endpoint, and what is known of the server."""

    server_id: str  # e.g. "vllm:8000"
    kind: str
    url: str
    info: dict[str, Any] = field(default_factory=dict)  # model, dtype, max_batch_size, pid, …
    fetch: Callable[[str], str] = fetch_text
    counters: Counters = field(default_factory=Counters)
    failing: bool = False
    error: str = ""  # why the last scrape failed, e.g. "[Errno 111] Connection refused"; "" once it answers

    def scrape(self) -> dict[str, Any] | None:
        """A reading for this sample, or None when the endpoint does not answer."""
        try:
            exposition = Exposition(self.fetch(self.url))
        except (OSError, ValueError) as exc:
            # URLError wraps the socket's own error: its reason says "Connection refused", not "<urlopen error …>".
            self.error = str(getattr(exc, "reason", None) or exc)
            if not self.failing:
                log.warning("event=scrape_failed server=%s url=%s error=%r", self.server_id, self.url, self.error)
            self.failing = True
            return None
        if self.failing:
            log.info("event=scrape_recovered server=%s", self.server_id)
            self.failing = False
        self.error = ""
        self.counters.start()
        facts, reading = READERS[self.kind](exposition, self.counters)
        for key, value in facts.items():
            self.info.setdefault(key, value)
        return {"id": self.server_id, **reading}

    def inventory(self, gpu_uuids: list[str]) -> dict[str, Any]:
        entry = {"id": self.server_id, "kind": self.kind, "gpu_uuids": gpu_uuids}
        for key in ("model", "dtype", "quantization", "tensor_parallel", "max_batch_size"):
            if self.info.get(key) is not None:
                entry[key] = self.info[key]
        return entry
