"""Generic webhook: the versioned JSON body (alerts.payload), signed when the channel has a secret."""

from __future__ import annotations

import time

from alerts import payload
from alerts.channels.base import HttpTransport
from alerts.models import Event


class Webhook(HttpTransport):
    kind = "webhook"
    needs_secret = True

    def notify(self, event: Event) -> str:
        raw = payload.body(event)
        headers = {"Content-Type": "application/json", "User-Agent": "Rightsizer-Alerts/1",
                   "Rightsizer-Event-Id": str(event.uid), "Rightsizer-Event-Type": event.type}  # fmt: skip
        if self.channel.secret:
            headers[payload.SIGNATURE_HEADER] = payload.sign(self.channel.secret, int(time.time()), raw)
        return self.post(raw, headers)
