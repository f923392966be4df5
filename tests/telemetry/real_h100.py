"""The real H100 recording in fixtures/real-gpu-h100/ (see its README), read for the tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "real-gpu-h100"


def batches() -> list[dict[str, Any]]:
    """The 20 request bodies the agent pushed, in order."""
    with gzip.open(FIXTURE / "agent-batches.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


def phases() -> list[tuple[str, float]]:
    """(name, unix start) of each load phase; the last, "done", only ends the one before."""
    return [(name, start) for name, start in json.loads((FIXTURE / "phases.json").read_text())]


def gpu_readings(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [gpu for body in bodies for sample in body["samples"] for gpu in sample["gpus"]]
