"""A range in a page's URL that the server would refuse: the page says why instead of charts failing to load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from dashboard import timerange

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, None),
        ({"range": "7d"}, None),
        ({"from": "1780000000", "to": "1780003600"}, None),
        ({"range": "99d"}, "unknown range '99d'"),
        ({"from": "abc", "to": "5"}, "'from' must be Unix seconds"),
        ({"from": "1780003600", "to": "1780000000"}, "'from' must be before 'to'"),
        ({"from": "1780000000"}, "needs both"),
        ({"from": "1790000000", "to": "1790003600"}, "in the future"),
    ],
)
def test_problem_names_what_is_wrong_with_the_url_range(params, expected):
    found = timerange.problem(params, now=NOW)
    assert (found is None) if expected is None else (expected in found), found


def test_the_picker_carries_the_refusal_into_the_page_and_nothing_when_the_range_is_fine():
    bad = render_to_string("dashboard/_ranges.html", request=RequestFactory().get("/", {"from": "x", "to": "1"}))
    assert "data-range-error" in bad and "The range in the address was not used" in bad
    assert "must be Unix seconds" in bad
    fine = render_to_string("dashboard/_ranges.html", request=RequestFactory().get("/", {"range": "30d"}))
    assert "data-range-error" not in fine and 'data-range="30d"' in fine
