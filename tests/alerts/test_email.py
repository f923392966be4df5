"""Email to a real SMTP server process (aiosmtpd), and the console backend of the embedded default."""

from __future__ import annotations

import mailbox
import shutil
import socket
import subprocess
import sys
import time

import pytest

from alerts.emit import emit
from alerts.models import Channel, Delivery
from tests.collectors.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_server(tmp_path, settings):
    """`python -m aiosmtpd` in its own process, storing every mail in a Maildir."""
    port, maildir = free_port(), tmp_path / "maildir"
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            time.sleep(0.05)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "rightsizer@example.com"
    yield maildir
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(maildir, ignore_errors=True)


def test_a_recommendation_alert_arrives_by_smtp_with_its_subject_and_body(smtp_server, eager):
    Channel.objects.create(kind="email", name="finops", target="finops@example.com, cto@example.com",
                           events=["recommendation.new"], min_saving_usd_month=100)  # fmt: skip
    emit("recommendation.new", "rec:1", "gpu-7: idle GPU ($1,900/month)", "GPU 3 did no work for 14 days.",
         "/recommendations/1/", 1900.0, {"action": "Release GPU 3.", "confidence": 0.9})  # fmt: skip
    emit("recommendation.new", "rec:2", "small one ($40/month)", "below the channel's minimum", "", 40.0)
    messages = list(mailbox.Maildir(smtp_server, create=False))
    assert len(messages) == 1
    mail = messages[0]
    assert mail["Subject"] == "[Rightsizer] gpu-7: idle GPU ($1,900/month)"
    assert mail["From"] == "rightsizer@example.com" and "cto@example.com" in mail["To"]
    body = mail.get_payload(decode=True).decode()
    assert "GPU 3 did no work for 14 days." in body and "Saving: $1,900/month" in body
    assert "Action: Release GPU 3." in body and "/recommendations/1/" in body
    assert "Confidence: 0.90 (data coverage × distance from the threshold)" in body
    delivery = Delivery.objects.get()
    assert delivery.status == "sent" and delivery.attempt_log.get().status == "ok"


def test_a_refused_connection_is_retried_then_given_up(settings, eager):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", free_port(), False
    settings.ALERTS_MAX_ATTEMPTS = 3
    Channel.objects.create(kind="email", name="ops", target="ops@example.com", events=["host.offline"])
    emit("host.offline", "h:1", "gpu-7 stopped reporting", "No sample.")
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 3 and "ConnectionRefusedError" in delivery.error


def test_the_embedded_default_prints_the_mail(settings, eager, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    Channel.objects.create(kind="email", name="ops", target="ops@example.com", events=["host.back"])
    emit("host.back", "h:2", "gpu-7 reports again", "It sent samples again.")
    out = capsys.readouterr().out
    assert "Subject: [Rightsizer] gpu-7 reports again" in out and "To: ops@example.com" in out
