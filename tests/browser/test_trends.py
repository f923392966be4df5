"""The trends page in Chromium: its charts drawn, its tables filled, its console free of errors (the `page` fixture),
a label value's drill-down (a click in the cost-by-label table), a from/to range from the date inputs kept in
the URL, and on a phone no sideways scroll with a 255-character label value cut in its cell."""

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
    last = (today - timedelta(days=1)).date().isoformat()  # the last complete UTC day: the date inputs' max
    expect(page.locator("#trends-from")).to_have_attribute("max", last)
    shot(page, "trends")

    # A label value drills down: h1's daily cost and utilization alone, and h1 linking to its page.
    page.locator(f'#label-table a[title="{LONG_VALUE}"]').click()
    page.wait_for_url("**value=*")
    expect(page.locator("#drill-charts canvas")).to_have_count(3)
    expect(page.locator("#drill-total")).to_have_text("$22.00")  # 10 h × $2, then 1 h × $2
    assert page.locator("#drill-charts canvas").nth(1).evaluate(drawn) == [2]  # utilization: 30 %, 100 %
    expect(page.locator("#drill-hosts tbody a")).to_have_attribute("href", f"/hosts/{h1.pk}/")
    assert "days=30" in page.url and "key=team" in page.url
    shot(page, "trends-drill")

    # On a phone, a from/to range of the last day alone keeps the drill-down: no sideways scroll, long values cut.
    page.set_viewport_size({"width": WIDTH, "height": 844})
    page.fill("#trends-from", last)
    page.fill("#trends-to", last)
    page.locator("#trends-form button[type=submit]").click()
    page.wait_for_url(f"**from={last}**")
    assert f"to={last}" in page.url and "value=" in page.url and "days=30" not in page.url
    expect(page.locator("canvas")).to_have_count(8)  # the fleet's 3, tokens, label bars, the drill-down's 3
    expect(page.locator("#drill-total")).to_have_text("$2.00")
    expect(page.locator("#fleet-total")).to_have_text("$5.00")
    expect(page.locator("#labels-csv")).to_have_attribute("href", f"/trends/labels.csv?key=team&from={last}&to={last}")
    assert_fits(page, "trends")
    assert_truncated(page, f'#label-table .trunc[title="{LONG_VALUE}"]', LONG_VALUE)
    shot(page, "trends-range-390")
