"""The webhook body (version 1) and its signature.

Body: {"version": 1, "id", "type", "created", "subject", "text", "url", "saving_usd_month", "data"}.
Header `Rightsizer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
A receiver recomputes v1 over the raw body and refuses a t older than TOLERANCE_S (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from alerts.models import Event

VERSION = 1
SIGNATURE_HEADER = "Rightsizer-Signature"
TOLERANCE_S = 300


def body(event: Event) -> bytes:
    doc = {
        "version": VERSION,
        "id": str(event.uid),
        "type": event.type,
        "created": event.created_at.isoformat(),
        "subject": event.subject,
        "text": event.text,
        "url": event.url,
        "saving_usd_month": event.saving_usd_month,
        "data": event.data,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, timestamp: int, raw: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, raw: bytes, now: float, tolerance_s: int = TOLERANCE_S) -> bool:
    """The receiver's side (the README's recipe, in Python)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))
