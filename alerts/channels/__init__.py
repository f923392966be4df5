"""One module per channel kind; importing them registers their transports."""

from __future__ import annotations

from alerts.channels import email, slack, webhook
from alerts.channels.base import REGISTRY, DeliveryError, Transport

__all__ = ["REGISTRY", "DeliveryError", "Transport", "email", "slack", "transport_for", "webhook"]


def transport_for(channel) -> Transport:
    return REGISTRY[channel.kind](channel)
