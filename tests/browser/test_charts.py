"""The charts in Chromium: values in their unit, nice ticks, the range in the URL, drag-to-zoom, one crosshair.

One deployment (one simulated host, two days, rolled up: seconds to build where the whole browser
fleet takes tens), one test: its page opened from a shared URL, reloaded, hovered, dragged, zoomed
out and taken Back, then a refused URL range; the formatting is checked by calling the page's own
RightsizerCharts, the same code the charts use.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from collectors.simulate import ARCHETYPES
from telemetry.rollups import run_rollups
from tests.browser.conftest import login
from tests.recommender.fleet import push_fleet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]

DEPLOYMENT = "/deployments/chat-diurnal/"
GIB = 1024**3
# the deployment's charts (data-metric) with one line, and those with more: lines that read together
DRAWN_ONE = ("gpu.util_pct", "gpu.mem_util_pct", "gpu.power_w", "gpu.temp_c", "gpu.sm_clock_mhz", "gpu.energy_j",
             "server.batch_size", "server.preempted", "server.requests_ps", "server.queue_time_ms",
             "host.cpu_pct")  # fmt: skip
DRAWN_MORE = {"gpu.mem_used": 2, "server.running": 2, "server.kv_cache_pct": 2, "server.gen_tps": 2,
              "host.mem_used": 3, "host.net_rx_bps": 2, "host.disk_read_bps": 2}  # fmt: skip

FORMATS = {
    ("bytes", 51490877160.6): "47.95 GiB",
    ("bytes", 512 * 1024**2): "512 MiB",
    ("bps", 2191046.66): "2.19 MB/s",
    ("w", 312.4): "312.4 W",
    ("celsius", 64): "64 °C",
    ("mhz", 1980): "1,980 MHz",
    ("joules", 3.6e6 * 12.5): "12.5 kWh",
    ("per_s", 3.25): "3.25/s",
    ("tps", 1234.5): "1,235 tok/s",
    ("tps", 45678): "45.68k tok/s",
    ("ms", 250): "250 ms",
    ("ms", 4200): "4.2 s",
    ("count", 3): "3",
    ("pct", 47.25): "47.25%",
    ("usd", 1520): "$1,520",
    ("usd", 25000): "$25k",
}

# A chart drawn off to the side with the page's own lineChart, its y tick labels and steps returned.
TICKS_JS = """([unit, values]) => {
  const C = window.RightsizerCharts;
  const box = document.createElement('div');
  document.body.appendChild(box);
  const t = values.map((_, i) => 1e12 + i * 60000);
  const chart = C.lineChart(C.panel(box, 'probe'), {from: t[0], to: t[t.length - 1]}, unit,
                            [{label: 'probe', t, values}]);
  const out = {labels: chart.scales.y.ticks.map((k) => k.label), values: chart.scales.y.ticks.map((k) => k.value),
               title: chart.options.scales.y.title.display ? chart.options.scales.y.title.text : null};
  chart.destroy();
  box.remove();
  return out;
}"""


# The time ticks of a chart `width` px wide over `days` days ending now: how many, and their labels.
TIME_JS = """([width, days]) => {
  const C = window.RightsizerCharts;
  const box = document.createElement('div');
  box.style.width = width + 'px';
  document.body.appendChild(box);
  const to = Date.now(), from = to - days * 86400000;
  const line = {label: 'probe', t: [from, to], values: [1, 2]};
  const chart = C.lineChart(C.panel(box, 'probe'), {from, to}, 'pct', [line]);
  const out = chart.scales.x.ticks.map((k) => k.label);
  chart.destroy();
  box.remove();
  return out;
}"""

# A bar chart of dollars drawn off to the side: its value-axis tick labels.
BAR_JS = """(values) => {
  const C = window.RightsizerCharts;
  const box = document.createElement('div');
  document.body.appendChild(box);
  const chart = C.barChart(C.panel(box, 'probe'), 'cost', values.map((_, i) => 'v' + i), values, [], 'usd');
  const out = chart.scales.x.ticks.map((k) => k.label);
  chart.destroy();
  box.remove();
  return out;
}"""


def _axes_read_alike(page) -> None:
    """Money in one scale per axis, 5 to 8 time ticks on phone and desktop widths, room above a flat line, and
    an axis title that names the unit shown."""
    for values in ([6000, 9000, 12000], [1000, 12452.16]):
        labels = page.evaluate(TICKS_JS, ["usd", values])["labels"]
        assert all(re.fullmatch(r"\$\d+k", label) for label in labels), labels
        bars = page.evaluate(BAR_JS, values)
        assert all(re.fullmatch(r"\$[\d.]+k", label) for label in bars), bars
    bars = page.evaluate(BAR_JS, [2500, 8000])
    assert all(re.fullmatch(r"\$[\d,]+", label) for label in bars), bars
    for width, fewest in ((360, 4), (440, 5), (900, 5)):  # a phone's chart, a desktop's third, a wide one
        for days in (30, 14, 1, 1 / 24):
            labels = page.evaluate(TIME_JS, [width, days])
            assert fewest <= len(labels) <= 8, (width, days, labels)
    queue = page.evaluate(TICKS_JS, ["ms", [10000, 10000, 10000]])
    assert max(queue["values"]) > 10000 and queue["title"] == "seconds", queue
    assert page.evaluate(TICKS_JS, ["ms", [5, 20, 8]])["title"] == "milliseconds"
    preempted = page.evaluate(TICKS_JS, ["count", [3, 3, 3]])
    assert max(preempted["values"]) > 3, preempted


@pytest.fixture
def one_deployment(client, agent_token, catalog):
    chat = [a for a in ARCHETYPES if a.name == "chat-diurnal"]
    push_fleet(client, agent_token[1], days=2.0, step_s=300.0, end=time.time() - 60, archetypes=chat)
    run_rollups()


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _area(page, index: int) -> dict:
    """Chart `index`'s plotting area in page coordinates."""
    return page.evaluate(
        """(i) => { const c = RightsizerCharts.charts()[i]; const r = c.canvas.getBoundingClientRect();
        const a = c.chartArea; return {left: r.left + a.left, right: r.left + a.right,
        top: r.top + a.top, bottom: r.top + a.bottom}; }""",
        index,
    )


def _until(page, expression: str, timeout_s: float = 10.0) -> None:
    """Poll `expression` from here: page.wait_for_function evaluates a string in the page, which the
    Content-Security-Policy refuses (no 'unsafe-eval')."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(50)


# The crosshair is on, and every chart on screen shows its points there (those below the fold catch up on
# scroll), a score of them on a deployment page.
SHOWN_ACTIVE = """(() => { const h = RightsizerCharts.crosshair();
  const shown = RightsizerCharts.charts().map((c) => { const r = c.canvas.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight; });
  return h.x !== null && shown.filter(Boolean).length > 1 && h.charts.every((c, i) => !shown[i] || c.active > 0);
})()"""


def _nice(step: float) -> bool:
    """1, 2 or 5 × 10^k."""
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5))


def test_charts_keep_the_range_in_the_url_zoom_by_drag_and_share_a_crosshair(page, one_deployment, viewer):
    login(page, "viewer", "viewer-pass-123", DEPLOYMENT + "?range=24h")
    status = page.locator("[data-range-status]")
    expect(status).to_contain_text("the last 24 h from 5m rollups")
    expect(page.get_by_role("button", name="24 h")).to_have_attribute("aria-pressed", "true")
    # Every metric of its hosts, summed, averaged or maxed (dashboard.deployment_metrics), in three sections:
    # GPUs busy, memory vs total, bandwidth, power, temperature, SM clock, energy; running and waiting, KV
    # cache, batch size, preemptions, tokens/s, requests/s, queue time; CPU, memory, network, disk.
    for section, count in (("gpu", 7), ("server", 7), ("host", 4)):
        expect(page.locator(f"#deployment-{section}-charts canvas")).to_have_count(count)
    drawn = page.evaluate("RightsizerCharts.charts().map((c) => [c.canvas.dataset.metric, c.data.datasets.length])")
    assert dict(drawn) == {**dict.fromkeys(DRAWN_ONE, 1), **DRAWN_MORE}, drawn

    # Units: the page's formatter, and the tick labels of a bytes axis and of a count axis.
    for (unit, value), text in FORMATS.items():
        assert page.evaluate("([u, v]) => RightsizerCharts.format(u, v)", [unit, value]) == text, (unit, value)
    ticks = page.evaluate(TICKS_JS, ["bytes", [0, 20e9, 51490877160.6, 40e9]])
    steps = {round((b - a) / GIB, 6) for a, b in itertools.pairwise(ticks["values"])}
    assert len(steps) == 1 and _nice(steps.pop()), ticks
    assert all(re.fullmatch(r"\d+ GiB", label) for label in ticks["labels"]), ticks
    counts = page.evaluate(TICKS_JS, ["count", [0, 1, 1, 0, 0, 1]])
    assert counts["labels"] == ["0", "1", "2"], counts  # whole numbers, with room above the largest
    pct = page.evaluate(TICKS_JS, ["pct", [3, 12, 7]])
    assert pct["labels"][-1] == "100%", pct
    _axes_read_alike(page)

    # A shared URL with 7 d: the picker starts there, and a reload keeps it.
    page.goto(DEPLOYMENT + "?range=7d")
    expect(status).to_contain_text("the last 7 d from 1h rollups")
    expect(page.get_by_role("button", name="7 d")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(status).to_contain_text("the last 7 d from 1h rollups")
    expect(page.get_by_role("button", name="7 d")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("RightsizerCharts.currentQuery()") == "range=7d"
    # The fleet holds two days: five days back the crosshair finds no value rather than a distant one.
    a = _area(page, 0)
    page.mouse.move(a["left"] + 0.1 * (a["right"] - a["left"]), (a["top"] + a["bottom"]) / 2)
    _until(page, "RightsizerCharts.crosshair().x !== null")
    assert all(c["active"] == 0 for c in page.evaluate("RightsizerCharts.crosshair()")["charts"])

    page.get_by_role("button", name="24 h").click()
    expect(status).to_contain_text("the last 24 h")
    assert _query(page)["range"] == ["24h"]

    # Hover one chart: every chart shows the same time, each tooltip in its unit.
    tokens = page.evaluate("RightsizerCharts.charts().findIndex((c) => c.canvas.dataset.metric === 'server.gen_tps')")
    # below the fold: brought to the middle of the screen, with its neighbours
    page.evaluate("(i) => RightsizerCharts.charts()[i].canvas.scrollIntoView({block: 'center'})", tokens)
    a = _area(page, tokens)
    page.mouse.move(a["left"] + 0.8 * (a["right"] - a["left"]), (a["top"] + a["bottom"]) / 2)
    _until(page, SHOWN_ACTIVE)
    hover = page.evaluate("RightsizerCharts.crosshair()")
    lefts = page.evaluate("RightsizerCharts.charts().map((c) => c.chartArea.left)")
    assert len(set(lefts)) == 1, lefts  # one y-axis width: the crosshair is one line down the page
    assert len(hover["charts"]) == 18, hover
    lines = hover["charts"][tokens]["lines"]
    assert any(re.fullmatch(r"Generated tokens/s, Σ: [\d.,]+k? tok/s", line) for line in lines), lines
    requests = page.evaluate("RightsizerCharts.charts().findIndex((c) => c.canvas.dataset.metric === "
                             "'server.requests_ps')")  # fmt: skip
    lines = hover["charts"][requests]["lines"]  # the next chart, on screen too
    assert any(re.fullmatch(r"Requests/s, Σ: [\d.,]+/s", line) for line in lines), lines
    page.mouse.move(5, 5)
    _until(page, "RightsizerCharts.crosshair().x === null")
    page.evaluate("window.scrollTo(0, 0)")

    # Drag across the first chart from 25 % to 50 % of its width: the page's range becomes that span.
    before = page.evaluate("RightsizerCharts.charts()[0].scales.x.min")
    a = _area(page, 0)
    width, y = a["right"] - a["left"], (a["top"] + a["bottom"]) / 2
    page.mouse.move(a["left"] + 0.25 * width, y)
    page.mouse.down()
    page.mouse.move(a["left"] + 0.5 * width, y, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"[?&]from=\d+&to=\d+"))
    expect(status).to_contain_text("custom range")
    q = _query(page)
    lo, hi = int(q["from"][0]), int(q["to"][0])
    assert 0.2 * 86400 < hi - lo < 0.3 * 86400, (lo, hi)
    assert abs(lo * 1000 - (before + 0.25 * 86400000)) < 0.05 * 86400000, (lo, before)
    for chart_min in page.evaluate("RightsizerCharts.charts().map((c) => c.scales.x.min)"):
        assert chart_min == lo * 1000  # every chart reloaded at the dragged range
    assert page.evaluate("RightsizerCharts.currentQuery()") == f"from={lo}&to={hi}"
    expect(page.get_by_role("button", name="24 h")).to_have_attribute("aria-pressed", "false")

    page.get_by_role("button", name="Zoom out").click()
    expect(page).not_to_have_url(re.compile(rf"from={lo}&"))
    q = _query(page)
    assert int(q["to"][0]) - int(q["from"][0]) == pytest.approx(3 * (hi - lo), abs=2)
    page.go_back()  # each range the viewer picked is a history entry
    expect(page).to_have_url(re.compile(rf"from={lo}&to={hi}"))
    _until(page, f"RightsizerCharts.charts()[0].scales.x.min === {lo * 1000}")

    # A range the server refuses: the page says why and shows its default, without a failed request.
    page.goto(DEPLOYMENT + "?range=99d")
    expect(status).to_contain_text("unknown range '99d'")
    expect(status).to_contain_text("the last 7 d")
    expect(page.get_by_role("button", name="7 d")).to_have_attribute("aria-pressed", "true")
    assert "range=99d" not in page.url

    # On a phone the deployment's score of charts stack in one column and the page does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    _until(page, "RightsizerCharts.charts().every((c) => c.width > 0 && c.canvas.getBoundingClientRect().right <= 390)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
