"""A real browser: Debian's Chromium, headless, driven by Playwright for Python, against a live server.

The server runs in a thread over the test database, so the tests are transactional and
reload the catalog (the `catalog` fixture) that an earlier test's flush emptied.
Screenshots of each page go to tests/browser/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.dashboard.conftest import load_fleet

CHROMIUM = os.environ.get("RIGHTSIZER_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).parent / "screenshots"

# Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are plain sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        require_service("Chromium", f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Berlin",
                                   base_url=live_server.url)  # fmt: skip
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def browser_fleet(client, catalog):
    load_fleet(client)


def login(page, username: str, password: str, next_path: str = "/") -> None:
    page.goto(next_path)
    page.wait_for_url("**/accounts/login/**")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def shot(page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


PAINTED_JS = """(canvas) => {
  if (!canvas.width || !canvas.height) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
  return n;
}"""


def painted_pixels(page, selector: str = "canvas") -> list[int]:
    """Non-transparent pixels of each canvas: 0 means Chart.js drew nothing there."""
    return [c.evaluate(PAINTED_JS) for c in page.locator(selector).all()]
