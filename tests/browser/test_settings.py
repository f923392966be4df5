"""The settings page in Chromium: a new token's Copy button fills the clipboard, and a revoke asks first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import AgentToken
from tests.browser.conftest import login, shot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]


def test_copy_puts_the_new_token_on_the_clipboard_and_a_revoke_needs_a_yes(page, admin, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, "admin", "admin-pass-123", "/settings/")
    page.get_by_label("Name").first.fill("rack 8")
    page.get_by_role("button", name="Create agent token").click()
    box = page.locator("#new-agent-token")
    raw = box.locator(".secret").inner_text().strip()
    box.get_by_role("button", name="Copy token").click()
    expect(box.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    box.get_by_role("button", name="Copy command", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("sudo collectors/packaging/install.sh")

    asked: list[str] = []
    revoke = page.locator("#agent-token-list").get_by_role("button", name="Revoke")
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    revoke.click()
    page.wait_for_timeout(300)  # a post, had one started, would be on its way
    assert asked == ["Revoke token rack 8? Agents using it will be refused."]
    assert AgentToken.objects.get(name="rack 8").revoked_at is None
    expect(page.locator("#agent-token-list")).to_contain_text("active")

    page.once("dialog", lambda d: d.accept())
    revoke.click()
    expect(page.locator(".messages")).to_contain_text("revoked")
    assert AgentToken.objects.get(name="rack 8").revoked_at is not None


def test_fleet_wide_thresholds_save_from_the_form_and_reset_asks_first(page, admin):
    from recommender.models import FleetThresholds

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, "admin", "admin-pass-123", "/settings/#thresholds")
    field = page.get_by_label("Target utilization target_util_pct")
    expect(field).to_have_attribute("placeholder", "70")
    field.fill("60")
    page.get_by_role("button", name="Save fleet-wide thresholds").click()
    expect(page.locator(".messages")).to_contain_text("Fleet-wide thresholds saved")
    assert FleetThresholds.saved() == {"target_util_pct": 60.0}
    expect(page.get_by_label("Target utilization target_util_pct")).to_have_value("60")
    shot(page, "settings-thresholds")

    asked: list[str] = []
    reset = page.get_by_role("button", name="Reset to inherited")
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    reset.click()
    page.wait_for_timeout(300)  # a post, had one started, would be on its way
    assert asked and asked[0].startswith("Reset the fleet-wide thresholds set here?")
    assert FleetThresholds.saved() == {"target_util_pct": 60.0}
    page.once("dialog", lambda d: d.accept())
    reset.click()
    expect(page.locator(".messages")).to_contain_text("reset to the inherited values")
    assert not FleetThresholds.objects.exists()
    assert errors == []
