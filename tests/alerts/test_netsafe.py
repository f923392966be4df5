"""SSRF: URLs that resolve to loopback, link-local or private addresses are refused at save and at send,
and no connection to them is attempted."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts import netsafe
from alerts.delivery import run
from alerts.forms import ChannelForm
from alerts.models import Channel, Delivery
from alerts.testsend import send_test

REFUSED = ["http://127.0.0.1/hook", "http://[::1]:8080/hook", "http://169.254.169.254/latest/meta-data/",
           "https://10.0.0.1/hook", "http://localhost:9000/hook", "http://[::ffff:127.0.0.1]/x"]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
def test_refused_at_the_url_check(url, socket_guard):
    with pytest.raises(netsafe.UnsafeURL, match="address: alerts go to public addresses only"):
        netsafe.resolve(url)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "http:///nohost",
                                 "http://example.com:99999/"])  # fmt: skip
def test_only_http_and_https_with_a_host(url):
    with pytest.raises(netsafe.UnsafeURL):
        netsafe.parse(url)


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED)
def test_refused_at_save_with_the_field_named_and_nothing_saved(url, socket_guard):
    form = ChannelForm({"kind": "webhook", "name": "x", "target": url, "events": ["host.offline"]})
    assert not form.is_valid()
    assert "public addresses only" in form.errors["target"][0]
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_refused_again_at_send_after_the_name_was_re_pointed(settings, socket_guard, monkeypatch):
    """Saved while public, resolving to 169.254.169.254 at send: permanent failure, no connection attempted."""
    channel = Channel.objects.create(kind="webhook", name="x", target="http://hooks.example.com/in", events=[])
    monkeypatch.setattr(netsafe.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("169.254.169.254", 80))])
    event = send_test(channel)
    delivery = Delivery.objects.get(event=event)
    assert run(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert "169.254.169.254, a link-local address" in delivery.error and delivery.attempts == 1
    assert delivery.attempt_log.get().status == "permanent"


@pytest.mark.django_db
def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch, socket_guard):
    monkeypatch.setattr(netsafe.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.216.34", 80)),
                                                                        (2, 1, 6, "", ("10.0.0.1", 80))])  # fmt: skip
    with pytest.raises(netsafe.UnsafeURL, match="10.0.0.1, a private address"):
        netsafe.resolve("http://two-faced.example.com/")


private_v4 = st.one_of(
    st.integers(0, 2**24 - 1).map(lambda n: ipaddress.IPv4Address((10 << 24) + n)),
    st.integers(0, 2**24 - 1).map(lambda n: ipaddress.IPv4Address((127 << 24) + n)),
    st.integers(0, 2**16 - 1).map(lambda n: ipaddress.IPv4Address((169 << 24) + (254 << 16) + n)),
    st.integers(0, 2**20 - 1).map(lambda n: ipaddress.IPv4Address((172 << 24) + (16 << 16) + n)),
    st.integers(0, 2**16 - 1).map(lambda n: ipaddress.IPv4Address((192 << 24) + (168 << 16) + n)),
)


@given(private_v4)
def test_every_private_loopback_or_link_local_v4_address_is_refused_also_as_v4_mapped_v6(ip):
    assert netsafe.refused_reason(ip) is not None
    assert netsafe.refused_reason(ipaddress.IPv6Address(f"::ffff:{ip}")) is not None


@given(st.integers(0, 2**64 - 1))
def test_every_ipv6_link_local_and_unique_local_address_is_refused(n):
    assert netsafe.refused_reason(ipaddress.IPv6Address((0xFE80 << 112) + n)) is not None
    assert netsafe.refused_reason(ipaddress.IPv6Address((0xFD00 << 112) + n)) is not None


@given(
    st.one_of(
        st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address), st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
    )
)
def test_only_globally_routed_addresses_pass(ip):
    if netsafe.refused_reason(ip) is None:
        assert ip.is_global and not ip.is_multicast


def test_carrier_grade_nat_addresses_are_refused():
    assert netsafe.refused_reason(ipaddress.IPv4Address("100.64.0.1")) == "non-public"
    assert netsafe.refused_reason(ipaddress.IPv4Address("93.184.215.14")) is None
