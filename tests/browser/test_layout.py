"""The dashboard on a phone (390 × 844): the fleet, the recommendations and a host page never scroll
sideways, even with a 255-character label and hostname; long names end in an ellipsis with the whole
text in their title; tables scroll inside their own box and charts fit the screen."""

from __future__ import annotations

import pytest
from django.test import Client

from telemetry.models import Host

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]

WIDTH = 390
LONG_VALUE = "platform-inference-" + "x" * 236  # 255 characters, no space to break at
LONG_HOSTNAME = "gpu-node-" + "0123456789" * 21 + ".eu-west-1.compute.internal"  # 246: the column holds 255

# What overflows: the page's own width, and any element whose right edge passes the viewport (except
# inside a box that scrolls on its own).
LAYOUT_JS = """(width) => {
  const scrolls = (p) => p !== document.body && ['auto', 'scroll'].includes(getComputedStyle(p).overflowX);
  const inScroller = (el) => { for (let p = el.parentElement; p; p = p.parentElement) if (scrolls(p)) return true;
    return false; };
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 1 && !inScroller(el); })
    .slice(0, 5).map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className);
  return {scrollWidth: document.documentElement.scrollWidth, wide};
}"""
TRUNCATED_JS = """(el) => ({title: el.title, cut: el.scrollWidth > el.clientWidth,
  right: el.getBoundingClientRect().right, ellipsis: getComputedStyle(el).textOverflow})"""


def assert_fits(pg, what: str) -> None:
    layout = pg.evaluate(LAYOUT_JS, WIDTH)
    assert layout["scrollWidth"] <= WIDTH, f"{what}: the page is {layout['scrollWidth']} px wide: {layout['wide']}"
    assert not layout["wide"], f"{what}: past the screen's edge: {layout['wide']}"


def assert_truncated(pg, selector: str, full: str) -> None:
    got = pg.locator(selector).first.evaluate(TRUNCATED_JS)
    assert got["title"] == full and got["cut"] and got["ellipsis"] == "ellipsis" and got["right"] <= WIDTH, got


def test_the_fleet_recommendations_and_a_host_fit_a_phone(chromium, live_server, browser_fleet, viewer):
    host = Host.objects.get(hostname__startswith="sim-oversized")
    Host.objects.filter(pk=host.pk).update(hostname=LONG_HOSTNAME, labels={**host.labels, "team": LONG_VALUE})
    client = Client()
    client.force_login(viewer)
    context = chromium.new_context(viewport={"width": WIDTH, "height": 844}, base_url=live_server.url,
                                   timezone_id="Europe/Berlin")  # fmt: skip
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        pg.goto("/")
        assert_fits(pg, "fleet")
        assert_truncated(pg, f'#hosts a .trunc[title="{LONG_HOSTNAME}"]', LONG_HOSTNAME)
        table = pg.locator("#hosts").evaluate("(t) => [t.parentElement.scrollWidth, t.parentElement.clientWidth]")
        assert table[0] > table[1], "the fleet table scrolls inside its box"
        assert pg.locator(f'select[name="label"] option[value="team={LONG_VALUE}"]').count() == 1

        pg.goto("/recommendations/?sort=host")
        assert_fits(pg, "recommendations")
        assert pg.locator("table.recs tbody tr").count() > 1

        pg.goto(f"/hosts/{host.pk}/")
        pg.wait_for_load_state("networkidle")
        pg.locator("canvas").first.wait_for()
        assert_fits(pg, "host")
        assert_truncated(pg, "h1 .trunc", LONG_HOSTNAME)
        assert_truncated(pg, f'dd code.trunc[title="team={LONG_VALUE}"]', f"team={LONG_VALUE}")
        widths = pg.locator("canvas").evaluate_all("(cs) => cs.map((c) => c.getBoundingClientRect().right)")
        assert widths and max(widths) <= WIDTH, f"charts resize to the screen: {widths}"
    finally:
        context.close()
    assert not errors, f"the pages logged errors: {errors}"
