"""Fixed buckets for percentage-type values (utilization, KV cache, CPU).

Fine at the bottom, where "idle" is decided (p99 under 5%), 5 points wide
through the middle, and fine again at the top, where "pinned" is. Counts are
seconds, so histograms add across rows and windows.
"""

from __future__ import annotations

from collections.abc import Sequence

# Lower edges; the last bucket runs to 100 (and holds anything above it).
LOWER_EDGES: tuple[float, ...] = (0, 1, 2, 3, 4, *range(5, 95, 5), 95, 99)
BUCKETS: tuple[tuple[float, float], ...] = tuple(
    (lo, LOWER_EDGES[i + 1] if i + 1 < len(LOWER_EDGES) else 100.0) for i, lo in enumerate(LOWER_EDGES)
)


def percentile(counts: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100), interpolated linearly inside its bucket; None when empty."""
    total = float(sum(counts))
    if total <= 0:
        return None
    rank = total * q / 100.0
    seen = 0.0
    for (lo, hi), count in zip(BUCKETS, counts, strict=True):
        if count > 0 and seen + count >= rank:
            return lo + (hi - lo) * max(0.0, rank - seen) / count
        seen += count
    return BUCKETS[-1][1]


def add(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [x + y for x, y in zip(a, b, strict=True)]


def of_values(values: Sequence[float], weight: float = 1.0) -> list[float]:
    """A histogram built from plain values (tests, the planner), each worth `weight` seconds."""
    counts = [0.0] * len(BUCKETS)
    for v in values:
        counts[bucket_index(v)] += weight
    return counts


def bucket_index(value: float) -> int:
    for i in range(len(LOWER_EDGES) - 1, -1, -1):
        if value >= LOWER_EDGES[i]:
            return i
    return 0
