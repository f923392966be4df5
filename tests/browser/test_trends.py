"""The trends page in Chromium: its charts drawn, its tables filled, its console free of errors (the `page` fixture),
and on a phone no sideways scroll with a 255-character label value cut in its cell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from telemetry.models import Host
from tests.browser.conftest import login, painted_pixels, shot
from tests.browser.test_layout import LONG_VALUE, WIDTH, assert_fits, assert_truncated
from tests.dashboard import trend_rollups

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_the_trends_page_draws_the_fleet_token_and_label_charts(page, viewer):
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    h1, _, _ = trend_rollups.seed(today - timedelta(days=2), today - timedelta(days=1))
    Host.objects.filter(pk=h1.pk).update(labels={**h1.labels, "team": LONG_VALUE})
    login(page, "viewer", "viewer-pass-123", "/trends/?days=30&key=team")
    expect(page.locator("h1")).to_have_text("Trends")
    expect(page.locator("header.top a.active")).to_have_text("Trends")
    # cost, utilization, GPUs busy/idle; cost per million tokens; cost by team
    expect(page.locator("canvas")).to_have_count(5)
    pixels = painted_pixels(page)
    assert all(n > 500 for n in pixels), pixels
    drawn = "(c) => Chart.getChart(c).data.datasets.map((d) => d.data.filter((p) => p.y !== null).length)"
    assert page.locator("#token-charts canvas").evaluate(drawn) == [1, 1]  # chat on day 1, embed on day 2
    assert page.locator("#fleet-charts canvas").first.evaluate(drawn) == [2]
    expect(page.locator("#fleet-total")).to_have_text("$33.00")
    # every bar of the label chart keeps its label (no auto-skipping when 12 deployments crowd the axis)
    axis = "(c) => [Chart.getChart(c).options.scales.y.ticks.autoSkip, Chart.getChart(c).scales.y.ticks.length]"
    bars = page.locator("#label-charts canvas").evaluate(axis)
    assert bars == [False, 3], bars
    expect(page.locator("#label-table tbody tr")).to_have_count(3)
    expect(page.locator("#label-total")).to_contain_text("$33.00")
    expect(page.locator("#token-table tbody tr")).to_have_count(2)
    expect(page.locator("#labels-csv")).to_have_attribute("href", "/trends/labels.csv?key=team&days=30")
    shot(page, "trends")

    page.set_viewport_size({"width": WIDTH, "height": 844})  # a phone: no sideways scroll, the long value cut
    page.reload()
    expect(page.locator("canvas")).to_have_count(5)
    assert_fits(page, "trends")
    assert_truncated(page, f'#label-table .trunc[title="{LONG_VALUE}"]', LONG_VALUE)
