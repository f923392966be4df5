"""Outbound HTTP for webhooks and Slack that cannot be pointed at this network (SSRF).

A URL is checked when a channel is saved and again at each send, after DNS resolution, and the
connection goes to the very address that was checked: a name re-pointed at 127.0.0.1 between the
check and the connect cannot slip through. Only http and https; redirects are not followed; one
deadline covers the whole request (connect, send, headers, body).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024  # a receiver's answer is read for its status; the rest is not needed


class UnsafeURL(ValueError):
    """The URL is not one alerts may be sent to; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the resolved IP that was checked, and the one connected to


def refused_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    for test, what in ((ip.is_loopback, "loopback"), (ip.is_link_local, "link-local"), (ip.is_private, "private"),
                       (ip.is_multicast, "multicast"), (ip.is_unspecified, "unspecified"),
                       (ip.is_reserved, "reserved"), (not ip.is_global, "non-public")):  # fmt: skip
        if test:  # the last catches the rest no one routes publicly: 100.64.0.0/10 (CGNAT), 192.0.0.0/24, ...
            return what
    return None


def parse(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http:// and https:// URLs are allowed")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("the URL's port is not a number between 1 and 65535") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def resolve(url: str) -> Target:
    """Parse and resolve; refuse loopback, link-local, private and other non-public addresses
    unless RIGHTSIZER_ALERTS_ALLOW_PRIVATE_URLS is on. Every address the name has is checked."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"the host name {host!r} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.ALERTS_ALLOW_PRIVATE_URLS:
        for address in addresses:
            why = refused_reason(ipaddress.ip_address(address.split("%", 1)[0]))
            if why:
                raise UnsafeURL(f"{host} resolves to {address}, a {why} address: alerts go to public addresses "
                                "only (RIGHTSIZER_ALERTS_ALLOW_PRIVATE_URLS=true allows others)")  # fmt: skip
    return Target(scheme, host, port, path, addresses[0])


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    location: str | None


class _Pinned(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = socket.create_connection((self.target.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self.target = target

    def connect(self) -> None:
        sock = socket.create_connection((self.target.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.target.host)  # the name's certificate


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Response:
    """POST once, within timeout_s in all; raises UnsafeURL, TimeoutError or OSError."""
    deadline = time.monotonic() + timeout_s
    target = resolve(url)

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer within {timeout_s:g} s")
        return remaining

    conn = (_PinnedTLS if target.scheme == "https" else _Pinned)(target, left())
    try:
        conn.connect()
        sock = conn.sock  # kept: the response reads from it after the connection lets go of it
        sock.settimeout(left())
        conn.request("POST", target.path, body=body, headers={**headers, "Content-Length": str(len(body))})
        sock.settimeout(left())
        resp = conn.getresponse()
        chunks, size = [], 0
        while size < MAX_RESPONSE_BYTES:
            sock.settimeout(left())
            chunk = resp.read1(MAX_RESPONSE_BYTES - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return Response(resp.status, b"".join(chunks), resp.getheader("Location"))
    except TimeoutError:
        raise TimeoutError(f"no answer within {timeout_s:g} s") from None
    finally:
        conn.close()
