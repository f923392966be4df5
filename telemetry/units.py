"""Unit conversions, named, so a value's unit is read in the code and not guessed from a 100.

Percentages (0–100) are what the agent sends and the rollups store; fractions (0–1) are
what the analysis computes with; "GPUs busy" is a sum of utilization percentages read as
whole GPUs (100 % on one GPU = 1 GPU busy).
"""

from __future__ import annotations

JOULES_PER_WH = 3600.0


def pct_to_fraction(pct: float) -> float:
    """50 (%) → 0.5."""
    return pct / 100.0


def fraction_to_pct(fraction: float) -> float:
    """0.5 → 50 (%)."""
    return fraction * 100.0


def pct_of(part: float, whole: float) -> float:
    """`part` as a percentage of `whole` (40 GiB of 80 GiB → 50)."""
    return fraction_to_pct(part / whole)


def pct_scale(whole: float) -> float:
    """The factor that turns a value into a percentage of `whole` (for a column read × scale)."""
    return fraction_to_pct(1.0 / whole)


def gpus_busy(util_pct_sum: float) -> float:
    """Σ utilization % over GPUs → GPUs busy (250 % → 2.5 GPUs)."""
    return pct_to_fraction(util_pct_sum)


def joules_to_wh(joules: float) -> float:
    return joules / JOULES_PER_WH
