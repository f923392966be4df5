"""'Send test': one event for one channel, delivered once, never retried."""

from __future__ import annotations

import uuid

from django.urls import reverse

from alerts.emit import emit
from alerts.events import TEST
from alerts.models import Channel, Event


def send_test(channel: Channel, user=None) -> Event:
    who = f" by {user}" if user is not None else ""
    event = emit(TEST, f"test:{uuid.uuid4()}", f"Test alert for “{channel.name}”",
                 f"This is a test of the {channel.kind} channel “{channel.name}”, sent{who} from the settings page. "
                 "Real alerts look like this one.", reverse("dashboard:alerts"), 1234.0,
                 {"channel": channel.name, "action": "Nothing to do: this is a test."}, channels=[channel])  # fmt: skip
    assert event is not None  # a fresh key
    return event
