"""Money, energy and carbon per month, and how sure a finding is.

Confidence, the same in every rule:

    confidence = coverage × margin × basis
    coverage   = min(1, hours of data in the window / full_confidence_hours)   (a week by default)
    margin     = 0.5 + 0.5 × min(1, 2 × |value − boundary| / scale)
    basis      = 0.8 when a price you set is compared with a catalog price, else 1

so a finding at its decision boundary has 0.5 of its coverage, and one at least half a
`scale` away from it (each rule names its scale: the threshold itself for idle, the
starting cost for a sizing step) has all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 730  # 365 × 24 / 12
MIXED_PRICE_FACTOR = 0.8


@dataclass(frozen=True)
class Saving:
    """Signed: a negative kWh means the change draws more power."""

    usd: float = 0.0
    kwh: float = 0.0
    kg_co2: float = 0.0
    basis: str = ""


STEP_BREAK = "\n"  # between the arithmetic's steps; no step holds a line break, while "; " sits inside steps


def arithmetic(*steps: str) -> str:
    """A saving's basis as its steps, one a line, so the page lists each step whole: prose split at "; " cut
    steps that hold one and left a bullet reading "× 730 h a month."."""
    return STEP_BREAK.join(" ".join(step.split()) for step in steps if step and step.strip())


def steps_of(basis: str) -> list[str]:
    """The steps of a basis `arithmetic` wrote; a basis written as one sentence is one step."""
    return [line.strip() for line in (basis or "").split(STEP_BREAK) if line.strip()]


def monthly(usd_per_hour: float, watts: float, grid_kg_per_kwh: float, basis: str, hours: float = HOURS_PER_MONTH):
    kwh = round(watts * hours / 1000, 1)
    return Saving(round(usd_per_hour * hours, 2), kwh, round(kwh * grid_kg_per_kwh, 1), basis)


def confidence(
    covered_s: float,
    full_s: float,
    value: float | None,
    boundary: float,
    scale: float | None = None,
    mixed_prices: bool = False,
) -> float:
    coverage = max(0.0, min(1.0, covered_s / full_s)) if full_s > 0 else 0.0
    basis = MIXED_PRICE_FACTOR if mixed_prices else 1.0
    if value is None:
        return round(coverage * 0.5 * basis, 2)
    scale = scale or max(abs(boundary), 1.0)
    margin = 0.5 + 0.5 * min(1.0, 2 * abs(value - boundary) / scale)
    return round(coverage * margin * basis, 2)
