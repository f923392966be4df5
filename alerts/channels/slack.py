"""Slack incoming webhook: a header, the text, the saving and the action, and a button back to the page."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError

from alerts.channels.base import HttpTransport
from alerts.models import Event


def escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup (links, mentions): they are sent escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(event: Event) -> dict:
    fields = []
    if event.saving_usd_month:
        fields.append({"type": "mrkdwn", "text": f"*Saving*\n${event.saving_usd_month:,.0f}/month"})
    if event.data.get("action"):
        fields.append({"type": "mrkdwn", "text": f"*Action*\n{escape(event.data['action'][:1900])}"})
    if isinstance(event.data.get("confidence"), int | float):
        fields.append({"type": "mrkdwn", "text": f"*Confidence*\n{event.data['confidence']:.2f}"})
    body = [
        {"type": "header", "text": {"type": "plain_text", "text": event.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(event.text[:2900] or event.subject)}},
    ]
    if fields:
        body.append({"type": "section", "fields": fields})
    body.append({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Open in Rightsizer"}, "url": event.url},
    ]})  # fmt: skip
    return {"text": event.subject, "blocks": body}  # `text` is the notification's fallback


class Slack(HttpTransport):
    kind = "slack"

    @classmethod
    def clean_target(cls, target: str) -> str:
        target = super().clean_target(target)
        if not target.startswith("https://"):
            raise ValidationError("a Slack incoming-webhook URL starts with https://hooks.slack.com/services/")
        return target

    def notify(self, event: Event) -> str:
        raw = json.dumps(blocks(event)).encode()
        return self.post(raw, {"Content-Type": "application/json", "User-Agent": "Rightsizer-Alerts/1"})
