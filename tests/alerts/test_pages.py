"""The settings page's channels, the deployment page's budget, the alert history: viewers see, admins change."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.models import Budget, Channel, Delivery
from telemetry.models import Host
from tests.alerts.conftest import webhook

pytestmark = pytest.mark.django_db
SECRET = "s3cret-signing-key-0042"


def add(client, **fields):
    data = {"channel-kind": "webhook", "channel-name": "ops", "channel-target": "https://hooks.example.com/in",
            "channel-events": ["host.offline", "recommendation.new"], "channel-min_saving_usd_month": "50",
            "channel-enabled": "on", **{f"channel-{k}": v for k, v in fields.items()}}  # fmt: skip
    return client.post("/settings/channels", data)


@pytest.fixture
def public_dns(monkeypatch):
    """Every name resolves to a public address (this machine may have no DNS); literal IPs stay themselves."""
    import ipaddress
    import socket

    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
            return real(host, *args, **kwargs)
        except ValueError:
            return [(2, 1, 6, "", ("93.184.216.34", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_an_admin_adds_a_webhook_channel_and_its_secret_is_never_shown_again(client, admin, public_dns):
    client.force_login(admin)
    resp = add(client, secret=SECRET)
    assert resp.status_code == 302
    channel = Channel.objects.get()
    assert channel.secret == SECRET and channel.events == ["host.offline", "recommendation.new"]
    assert channel.min_saving_usd_month == 50 and channel.created_by == admin
    page = client.get("/settings/").content.decode()
    assert "ops" in page and "https://hooks.example.com/…" in page and SECRET not in page
    assert "/in" not in page.split('id="channel-list"')[1].split("</table>")[0]  # the path (Slack's secret) is cut


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"target": "http://127.0.0.1/x"}, "target", "loopback address"),
    ({"target": "ftp://example.com/x"}, "target", "only http:// and https://"),
    ({"kind": "email", "target": "not-an-address"}, "target", "is not an email address"),
    ({"secret": "short"}, "secret", "16 or more printable characters"),
    ({"kind": "slack", "secret": SECRET}, "secret", "has no signing secret"),
    ({"kind": "slack", "target": "http://hooks.example.com/x"}, "target", "https://hooks.slack.com"),
])  # fmt: skip
def test_bad_input_is_a_form_error_naming_the_field_and_nothing_is_saved(client, admin, public_dns, fields, field,
                                                                         says):  # fmt: skip
    client.force_login(admin)
    resp = add(client, **fields)
    assert resp.status_code == 400
    form = resp.context["channel_form"]
    assert says in " ".join(form.errors[field])
    assert says in resp.content.decode()
    assert not Channel.objects.exists()


def test_a_viewer_sees_channels_and_deliveries_but_cannot_change_them(client, viewer, admin):
    channel = webhook("https://hooks.example.com/in", name="ops")
    client.force_login(viewer)
    page = client.get("/settings/").content.decode()
    assert "ops" in page and "Send test" not in page and 'id="channel-form"' not in page
    base = f"/settings/channels/{channel.pk}"
    for url in ("/settings/channels", f"{base}/test", f"{base}/delete", f"{base}/toggle", "/deployments/chat/budget"):
        assert client.post(url, {"usd_month": "1"}).status_code == 403, url
    assert Channel.objects.get().enabled and not Delivery.objects.exists() and not Budget.objects.exists()
    assert client.get("/alerts/").status_code == 200


def test_send_test_queues_one_delivery_for_that_channel(client, admin, django_capture_on_commit_callbacks):
    one, other = webhook("https://a.example.com/", name="one"), webhook("https://b.example.com/", name="two")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/settings/channels/{one.pk}/test").status_code == 302
    delivery = Delivery.objects.get()
    assert delivery.channel == one and delivery.event.type == "test" and delivery.status == "pending"
    assert other.deliveries.count() == 0


def test_an_admin_sets_a_budget_and_the_deployment_page_shows_it_with_the_forecast(client, admin, viewer):
    Host.objects.create(machine_id="m-1", hostname="gpu-1", deployment="chat-prod", last_seen=timezone.now())
    client.force_login(admin)
    assert client.post("/deployments/chat-prod/budget", {"usd_month": "2500"}).status_code == 302
    assert Budget.objects.get(deployment="chat-prod").usd_month == 2500
    resp = client.post("/deployments/chat-prod/budget", {"usd_month": "-3"}, follow=True)
    assert "Budget not saved: Budget (USD/month):" in resp.content.decode()
    assert Budget.objects.get().usd_month == 2500  # nothing saved
    client.force_login(viewer)
    page = client.get("/deployments/chat-prod/").content.decode()
    assert 'id="budget-amount"' in page and "$2,500" in page and 'id="spend-forecast"' in page
    assert 'id="budget-form"' not in page


def test_the_alert_history_lists_events_and_their_deliveries(client, viewer):
    from alerts.emit import emit

    webhook("https://hooks.example.com/in", name="ops")
    emit("host.offline", "h:1", "gpu-7 stopped reporting", "No sample.", "/hosts/1/")
    client.force_login(viewer)
    page = client.get("/alerts/").content.decode()
    assert "gpu-7 stopped reporting" in page and "ops:" in page and "pending" in page
    assert "gpu-7" not in client.get("/alerts/?type=host.back").content.decode()


def test_the_admin_never_shows_a_saved_url_or_secret_and_keeps_them_when_left_empty(client, admin, public_dns):
    channel = Channel.objects.create(kind="slack", name="costs", target="https://hooks.slack.com/services/T0/B0/xyz",
                                     secret="", events=["host.offline"])  # fmt: skip
    hook = webhook("https://hooks.example.com/in/abc", secret=SECRET, name="hook")
    client.force_login(admin)
    for c in (channel, hook):
        page = client.get(f"/admin/alerts/channel/{c.pk}/change/").content.decode()
        assert "/services/T0/B0/xyz" not in page and "/in/abc" not in page and SECRET not in page
    data = {"kind": "webhook", "name": "hook 2", "target": "", "secret": "", "events": ["host.back"],
            "min_saving_usd_month": "0", "enabled": "on"}  # fmt: skip
    assert client.post(f"/admin/alerts/channel/{hook.pk}/change/", data).status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.target, hook.secret, hook.events) == ("hook 2", "https://hooks.example.com/in/abc", SECRET,
                                                                  ["host.back"])  # fmt: skip
