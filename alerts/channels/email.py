"""Email through Django's email framework: SMTP from the RIGHTSIZER_SMTP_* variables, the console
backend in the embedded default."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from alerts.channels.base import DeliveryError, Transport
from alerts.models import Event
from recommender.plan import plural

MAX_RECIPIENTS = 20


def addresses(target: str) -> list[str]:
    return [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]


def body(event: Event) -> str:
    lines = [event.text, ""]
    if event.saving_usd_month:
        lines.append(f"Saving: ${event.saving_usd_month:,.0f}/month")
    if event.data.get("action"):
        lines.append(f"Action: {event.data['action']}")
    if isinstance(event.data.get("confidence"), int | float):
        lines.append(f"Confidence: {event.data['confidence']:.2f} (data coverage × distance from the threshold)")
    lines += [f"Open: {event.url}", "", "— Rightsizer (change what you receive under Settings → Alert channels)"]
    return "\n".join(lines)


class Email(Transport):
    kind = "email"

    @classmethod
    def clean_target(cls, target: str) -> str:
        found = addresses(target)
        if not found:
            raise ValidationError("give at least one address, e.g. oncall@example.com")
        if len(found) > MAX_RECIPIENTS:
            raise ValidationError(f"at most {MAX_RECIPIENTS} addresses: use a mailing list")
        for address in found:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address!r} is not an email address") from None
        return ", ".join(found)

    def notify(self, event: Event) -> str:
        message = EmailMessage(f"[Rightsizer] {event.subject}", body(event), settings.DEFAULT_FROM_EMAIL,
                               addresses(self.channel.target),
                               headers={"X-Rightsizer-Event-Id": str(event.uid)})  # fmt: skip
        try:
            message.connection = get_connection(timeout=settings.ALERTS_TIMEOUT_S)
            sent = message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"every recipient was refused: {', '.join(exc.recipients)}", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code}): check RIGHTSIZER_SMTP_USER/PASSWORD",
                                permanent=True) from None  # fmt: skip
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if not sent:
            raise DeliveryError("the mail server accepted nothing")
        return f"mail accepted for {plural(len(message.recipients()), 'recipient')}"
