"""Money, energy and carbon per month."""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 730  # 365 × 24 / 12


@dataclass(frozen=True)
class Saving:
    usd: float = 0.0
    kwh: float = 0.0
    kg_co2: float = 0.0
    basis: str = ""


def monthly(usd_per_hour: float, watts: float, grid_kg_per_kwh: float, basis: str, hours: float = HOURS_PER_MONTH):
    kwh = max(0.0, watts) * hours / 1000
    return Saving(round(usd_per_hour * hours, 2), round(kwh, 1), round(kwh * grid_kg_per_kwh, 1), basis)


def confidence(coverage: float, value: float | None, threshold: float, scale: float | None = None) -> float:
    """Coverage of the window (0–1) × how far the value sits from its threshold (0.5 at the line, 1 far off)."""
    coverage = max(0.0, min(1.0, coverage))
    if value is None:
        return round(coverage * 0.5, 2)
    scale = scale or max(abs(threshold), 1.0)
    distance = min(1.0, abs(threshold - value) / scale)
    return round(coverage * (0.5 + 0.5 * distance), 2)
