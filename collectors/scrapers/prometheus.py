"""Prometheus exposition text → values, with counters turned into rates.

Parsing uses prometheus_client's parser, never hand-written regexes. Counters
become rates between two scrapes; a counter that went down means the server
restarted, and the new value is the increase since then.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


class Exposition:
    """Samples by their exposed name (e.g. 'vllm:prompt_tokens_total'), with labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[str, list[tuple[Labels, float]]] = defaultdict(list)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                entry = (dict(sample.labels), float(sample.value))
                self.samples[sample.name].append(entry)
                # The parser appends _total to counters exposed without it (Triton's,
                # TGI's); keep them under the name the server exposes too.
                if family.type == "counter" and sample.name == family.name + "_total":
                    self.samples[family.name].append(entry)

    def has(self, name: str) -> bool:
        return name in self.samples

    def total(self, name: str, **match: str) -> float | None:
        """Sum over every label set (e.g. across vLLM engines), or None if absent."""
        values = [v for labels, v in self.samples.get(name, ()) if _matches(labels, match)]
        return sum(values) if values else None

    def mean(self, name: str) -> float | None:
        values = [v for _, v in self.samples.get(name, ())]
        return sum(values) / len(values) if values else None

    def label(self, name: str, key: str) -> str | None:
        for labels, _ in self.samples.get(name, ()):
            if labels.get(key):
                return labels[key]
        return None


def _matches(labels: Labels, match: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in match.items())


class Counters:
    """Remembers counter values between scrapes to give per-second rates and deltas."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._last: dict[str, tuple[float, float]] = {}
        self._now = 0.0

    def start(self) -> None:
        """Call once per scrape, before rate()/delta()."""
        self._now = self.clock()

    def delta(self, key: str, value: float | None) -> tuple[float, float] | None:
        """(increase, seconds) since the previous scrape, or None the first time."""
        if value is None:
            return None
        previous = self._last.get(key)
        self._last[key] = (value, self._now)
        if previous is None or self._now <= previous[1]:
            return None
        increase = value - previous[0]
        if increase < 0:  # the server restarted and its counters began again at zero
            increase = value
        return increase, self._now - previous[1]

    def rate(self, key: str, value: float | None) -> float | None:
        d = self.delta(key, value)
        return d[0] / d[1] if d else None

    def ratio(self, key: str, numerator: float | None, denominator: float | None) -> float | None:
        """Δnumerator / Δdenominator, e.g. Triton's inference_count / exec_count."""
        num = self.delta(key + ":num", numerator)
        den = self.delta(key + ":den", denominator)
        if not num or not den or den[0] <= 0:
            return None
        return num[0] / den[0]


def clean(reading: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values: the server stores absent as NULL, never as zero."""
    return {k: v for k, v in reading.items() if v is not None}
