"""The transport base: one subclass per channel kind, registered by kind.

`notify(event)` sends once and returns a short note (e.g. "HTTP 200"); it raises
DeliveryError, permanent or not. Retrying is the delivery task's business, not the transport's.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError

from alerts import netsafe
from alerts.models import Channel, Event


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False, response_status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.response_status = response_status


REGISTRY: dict[str, type[Transport]] = {}


class Transport:
    kind: ClassVar[str]
    needs_secret: ClassVar[bool] = False

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:  # a concrete kind, not a shared base such as HttpTransport
            REGISTRY[cls.kind] = cls

    @classmethod
    def clean_target(cls, target: str) -> str:
        """The target as stored, or ValidationError saying what is wrong with it."""
        raise NotImplementedError

    def notify(self, event: Event) -> str:
        raise NotImplementedError


class HttpTransport(Transport):
    """A transport that POSTs JSON to a URL given by the user: checked against SSRF at save and at send."""

    @classmethod
    def clean_target(cls, target: str) -> str:
        target = target.strip()
        try:
            netsafe.resolve(target)
        except netsafe.UnsafeURL as exc:
            raise ValidationError(str(exc)) from None
        return target

    def post(self, body: bytes, headers: dict[str, str]) -> str:
        try:
            resp = netsafe.post(self.channel.target, body, headers, settings.ALERTS_TIMEOUT_S)
        except netsafe.UnsafeURL as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        except TimeoutError as exc:
            raise DeliveryError(str(exc)) from None
        except OSError as exc:  # refused, reset, TLS: may pass
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        return outcome(resp)


def outcome(resp: netsafe.Response) -> str:
    if 200 <= resp.status < 300:
        return f"HTTP {resp.status}"
    snippet = resp.body[:200].decode("utf-8", "replace").strip()
    said = f": {snippet}" if snippet else ""
    if 300 <= resp.status < 400:
        raise DeliveryError(f"HTTP {resp.status}: redirects are not followed; give the final URL", True, resp.status)
    if 400 <= resp.status < 500 and resp.status != 429:
        raise DeliveryError(f"HTTP {resp.status}{said}", permanent=True, response_status=resp.status)
    raise DeliveryError(f"HTTP {resp.status}{said}", response_status=resp.status)
