"""POST batches to the ingest API: gzip, bearer token, timeouts, backoff.

What each answer means for a batch:
  202            acknowledged: delete it
  429 / 5xx / network error
                 transient: keep it, wait (Retry-After, or exponential backoff
                 with full jitter), try again (a batch the server fails on
                 while it takes others is set aside: see agent.Drainer)
  400, 413, 422  this batch is bad for good: set it aside, log the server's words
  401 / 403      the token is wrong or revoked: keep everything, log the server's
                 words once, retry slowly (a person must fix the configuration)
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import urllib.parse
from dataclasses import dataclass

log = logging.getLogger("rightsizer.agent.push")

TRANSIENT, ACCEPTED, REJECTED, UNAUTHORIZED = "transient", "accepted", "rejected", "unauthorized"


@dataclass(frozen=True)
class PushResult:
    outcome: str  # one of the four above
    status: int | None
    message: str
    retry_after_s: float | None = None
    accepted: int = 0
    duplicates: int = 0
    answer: bytes = b""  # the server's body as it came (its first 4 KB), kept beside a batch set aside


class Pusher:
    def __init__(self, url: str, token: str, connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0,
                 user_agent: str = "rightsizer-agent") -> None:  # fmt: skip
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"server URL {url!r} must look like https://rightsizer.example.com")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        base = parts.path.rstrip("/")
        self.path = base if base.endswith("/api/v1/ingest") else base + "/api/v1/ingest"
        self.token, self.user_agent = token, user_agent
        self.connect_timeout_s, self.read_timeout_s = connect_timeout_s, read_timeout_s
        self.extra_headers: dict[str, str] = {}  # e.g. the spool report the Drainer keeps current

    def push(self, gz_body: bytes) -> PushResult:
        try:
            status, headers, body = self._post(gz_body)
        except (OSError, http.client.HTTPException) as exc:
            return PushResult(TRANSIENT, None, f"server unreachable: {exc}")
        message, answer = _message(body), body[:4096]
        if status == 202:
            answer = _json(body)
            return PushResult(
                ACCEPTED,
                status,
                "accepted",
                None,
                int(answer.get("accepted", 0)),
                int(answer.get("duplicates", 0)),
            )
        if status == 429 or status >= 500:
            return PushResult(TRANSIENT, status, message, _retry_after(headers.get("retry-after")), answer=answer)
        if status in (401, 403):
            return PushResult(UNAUTHORIZED, status, message, answer=answer)
        return PushResult(REJECTED, status, message, answer=answer)

    def _post(self, gz_body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn_cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        kwargs = {"context": ssl.create_default_context()} if self.https else {}
        conn = conn_cls(self.host, self.port, timeout=self.connect_timeout_s, **kwargs)
        try:
            conn.connect()
            conn.sock.settimeout(self.read_timeout_s)  # connect and read have their own limits
            conn.request("POST", self.path, body=gz_body, headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                "Content-Encoding": "gzip", "User-Agent": self.user_agent, **self.extra_headers,
            })  # fmt: skip
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        except TimeoutError as exc:
            raise OSError(f"timed out ({exc})") from exc
        finally:
            conn.close()


class Backoff:
    """Exponential backoff with full jitter: a fleet coming back does not stampede."""

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None) -> None:
        self.base_s, self.cap_s, self.attempt = base_s, cap_s, 0
        self.rng = rng or random.Random()

    def next_delay(self, retry_after_s: float | None = None) -> float:
        self.attempt += 1
        if retry_after_s is not None:
            return min(retry_after_s, self.cap_s)
        return self.rng.uniform(0, min(self.cap_s, self.base_s * 2**self.attempt))

    def reset(self) -> None:
        self.attempt = 0


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _message(body: bytes) -> str:
    answer = _json(body)
    message = str(answer.get("message") or body[:300].decode("utf-8", "replace"))
    errors = answer.get("errors")
    if errors:
        first = "; ".join(f"{e.get('path')}: {e.get('message')}" for e in errors[:5])
        message += f" [{first}{' …' if len(errors) > 5 else ''}]"
    return message


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
