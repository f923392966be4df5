"""The key=value formatter: a value from an agent cannot forge a log line or drive the terminal."""

from __future__ import annotations

import io
import logging
import logging.config

from django.conf import settings

from rightsizer.logging_kv import KeyValueFormatter, escape_controls


def _configured_stream() -> tuple[logging.Logger, io.StringIO]:
    """A logger whose handler formats exactly as settings.LOGGING declares (without reconfiguring logging)."""
    formatter = logging.config.DictConfigurator({}).configure_formatter(dict(settings.LOGGING["formatters"]["kv"]))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("tests.kv_probe")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    return log, stream


def test_settings_log_through_the_escaping_formatter():
    log, stream = _configured_stream()
    hostname = "gpu-7\nts=2026-01-01 level=ERROR logger=telemetry event=token_revoked\r\x1b[2J\x07"
    log.info("event=host_seen hostname=%s labels=%s", hostname, {"team": "ml\x00\x1f\x7f\x85\u2028"})
    out = stream.getvalue()
    assert out.count("\n") == 1 and out.endswith("\n")  # the handler's own terminator, nothing else
    line = out[:-1]
    assert line.startswith("ts=") and " level=INFO logger=tests.kv_probe event=host_seen hostname=gpu-7\\n" in line
    assert "\\r\\x1b[2J\\x07" in line and "\\x00\\x1f\\x7f\\x85\\u2028" in line
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line)


def test_a_traceback_stays_on_the_event_line():
    log, stream = _configured_stream()
    try:
        raise ValueError("bad label\nlevel=CRITICAL forged")
    except ValueError:
        log.exception("event=ingest_failed")
    out = stream.getvalue()
    assert out.count("\n") == 1
    assert "event=ingest_failed\\nTraceback (most recent call last):\\n" in out
    assert "ValueError: bad label\\nlevel=CRITICAL forged" in out


def test_plain_text_is_unchanged():
    text = 'event=push host=gpu-node-7 error="connection refused" path=C:\\agent ünïcode 東京'
    assert escape_controls(text) == text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "event=ok value=%s", ("a b",), None)
    assert KeyValueFormatter("%(message)s").format(record) == "event=ok value=a b"
