"""Thresholds are one typed object: names, units, bounds; a bad fleet-wide value fails the start-up check."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from recommender.checks import thresholds_check
from recommender.savings import confidence
from recommender.thresholds import DEFAULTS, Thresholds, describe, merged, validate_overrides


def test_every_threshold_has_a_unit_bounds_and_a_meaning():
    rows = describe()
    assert {r["name"] for r in rows} == set(DEFAULTS)
    assert all(r["unit"] and r["description"] and r["min"] is not None and r["max"] is not None for r in rows)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"target_util_pct": 500}, "target_util_pct"),
        ({"target_util_pct": "70"}, "target_util_pct"),
        ({"nonsense": 1}, r"unknown threshold\(s\) nonsense"),
        ({"window_days": 7}, "fleet-wide"),
        ([1, 2], "JSON object"),
    ],
)
def test_overrides_are_refused_with_the_reason(values, message):
    with pytest.raises(ValueError, match=message):
        validate_overrides(values)


def test_merged_overrides_are_typed():
    th = merged({}, {"target_util_pct": 60})
    assert isinstance(th, Thresholds) and th.target_util_pct == 60 and th.memory_margin == DEFAULTS["memory_margin"]


def test_a_bad_fleet_wide_value_fails_the_system_check(settings):
    settings.RECOMMENDER_THRESHOLDS = {"target_util_pct": 0}
    (error,) = thresholds_check()
    assert error.id == "recommender.E001" and "target_util_pct" in error.msg
    with pytest.raises(SystemCheckError):
        call_command("check")
    settings.RECOMMENDER_THRESHOLDS = {"target_util_pct": 60}
    assert thresholds_check() == []


def test_more_coverage_than_the_window_holds_fails_the_system_check(settings):
    settings.RECOMMENDER_THRESHOLDS = {"window_days": 1}  # 24 hours, under the 30 hours advice needs
    (error,) = thresholds_check()
    assert "min_coverage_hours (30 hours) is longer than the window" in error.msg
    settings.RECOMMENDER_THRESHOLDS = {"window_days": 1, "min_coverage_hours": 24}
    assert thresholds_check() == []


def test_confidence_is_coverage_times_margin_times_basis():
    week = 7 * 24 * 3600
    assert confidence(14 * 86400, week, 0.5, 5) == 1.0  # an idle GPU at 0.5% for 14 days
    assert confidence(14 * 86400, week, 5, 5) == 0.5  # at the line
    assert confidence(week / 2, week, 0.5, 5) == 0.5  # half the data
    assert confidence(14 * 86400, week, 0.5, 5, mixed_prices=True) == 0.8
    assert confidence(14 * 86400, week, None, 5) == 0.5  # nothing to measure the margin by
