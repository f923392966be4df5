"""GPU views in Chromium: the host page's per-GPU table and overlaid charts, then one GPU's own page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from telemetry import registry
from telemetry.models import Host
from tests.browser.conftest import login, painted_pixels, shot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]

METRICS_JS = "cs => cs.map(c => c.dataset.metric)"
LABELS_JS = "c => Chart.getChart(c).data.datasets.map(d => d.label)"


def test_a_host_page_overlays_its_gpus_and_a_gpu_page_charts_every_nvml_metric(page, browser_fleet, viewer):
    host = Host.objects.get(hostname__startswith="sim-oversized")  # 8 H100s, one vLLM server on all of them
    gpu_keys = [m.key for m in registry.of(registry.GPU)]
    login(page, "viewer", "viewer-pass-123", f"/hosts/{host.pk}/")
    expect(page.locator("[data-range-status]")).to_contain_text("last 24 h")

    rows = page.locator("#gpu-table tbody tr")
    expect(rows).to_have_count(8)
    expect(page.locator("#gpu-table svg.spark polyline")).to_have_count(8)
    first = rows.first
    expect(first.locator('[data-cell="util_pct"]')).to_contain_text("%")
    expect(first.locator('[data-cell="temp_c"]')).to_contain_text("°C")
    expect(first.locator('[data-cell="sm_clock_mhz"]')).to_contain_text("MHz")
    expect(first).to_contain_text("vllm:8000")

    # One chart per GPU metric, each with a line per GPU; then the host's and the server's charts.
    expect(page.locator("#gpu-charts canvas")).to_have_count(len(gpu_keys))
    assert sorted(page.locator("#gpu-charts canvas").evaluate_all(METRICS_JS)) == sorted(gpu_keys)
    util = page.locator('#gpu-charts canvas[data-metric="gpu.util_pct"]')
    assert util.evaluate(LABELS_JS) == [f"GPU {i}" for i in range(8)]
    memory = page.locator('#gpu-charts canvas[data-metric="gpu.mem_used"]').evaluate(LABELS_JS)
    assert memory[:8] == [f"GPU {i}" for i in range(8)] and "capacity" in memory and "need" in memory
    assert page.locator("#host-charts canvas").count() == 5
    server = page.locator("#server-charts canvas").evaluate_all(METRICS_JS)
    assert server == ["server.running", "server.queue_time_ms", "server.requests_ps", "server.batch_size",
                      "server.kv_cache_pct", "server.preempted", "server.gen_tps"]  # fmt: skip
    assert all(n > 500 for n in painted_pixels(page)), painted_pixels(page)
    shot(page, "host-gpus")

    rows.nth(3).get_by_role("link", name="GPU 3").click()
    expect(page).to_have_url(re.compile(rf"/hosts/{host.pk}/gpus/3/"))
    expect(page.locator("h1")).to_contain_text("GPU 3")
    expect(page.locator("#gpu-servers")).to_contain_text("vllm:8000")
    expect(page.locator("#gpu-charts canvas")).to_have_count(len(gpu_keys))
    titles = page.locator("#gpu-charts h3").all_text_contents()
    assert {"Temperature", "SM clock", "Energy used per 5 min", "Memory bandwidth"} <= set(titles), titles
    assert page.locator('#gpu-charts canvas[data-metric="gpu.temp_c"]').evaluate(LABELS_JS) == ["Temperature"]
    assert page.locator("#server-charts canvas").count() == 7
    assert all(n > 500 for n in painted_pixels(page)), painted_pixels(page)
    shot(page, "gpu")
