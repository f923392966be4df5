"""The JSON log formatter: one object per event, fields from key=value messages, nothing forged."""

from __future__ import annotations

import io
import json
import logging

from collectors.jsonlog import JsonFormatter, parse_pairs

HOSTILE = "gpu-7\nts=2026-01-01 level=ERROR logger=telemetry event=token_revoked\r\x1b[2J\x07\x00\x85\u2028\u2029"


def _log(message: str, *args, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tests.json_probe")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    if exc:
        try:
            raise ValueError("bad label\nlevel=CRITICAL forged")
        except ValueError:
            log.exception(message, *args)
    else:
        log.info(message, *args)
    return stream.getvalue()


def test_a_key_value_message_becomes_fields_with_numbers():
    event = json.loads(_log("event=push_deferred status=%s retry_in_s=%.1f spooled=%d message=%r name=%s",
                            503, 2.5, 4, "server said 'no'", "NVIDIA A10G"))  # fmt: skip
    assert event["level"] == "INFO" and event["logger"] == "tests.json_probe" and event["ts"].endswith("Z")
    assert event["event"] == "push_deferred" and event["status"] == 503 and event["retry_in_s"] == 2.5
    assert event["spooled"] == 4 and event["message"] == "server said 'no'" and event["name"] == "NVIDIA A10G"


def test_hostile_values_stay_on_one_line_and_round_trip():
    out = _log("event=host_seen hostname=%r labels=%s", HOSTILE, {"team": "ml\x1f\x7f"})
    assert out.count("\n") == 1 and out.endswith("\n")  # the handler's own terminator, nothing else
    line = out[:-1]
    assert line.isascii() and line.isprintable()  # no control character, no U+2028, no escape sequence
    event = json.loads(line)
    assert event["event"] == "host_seen" and event["hostname"] == HOSTILE


def test_free_text_and_tracebacks_are_kept_whole():
    event = json.loads(_log("Listening at: http://127.0.0.1:8000 (%d)", 42))
    assert event["msg"] == "Listening at: http://127.0.0.1:8000 (42)" and "event" not in event
    out = _log("event=ingest_failed host=%s", "h", exc=True)
    assert out.count("\n") == 1
    event = json.loads(out)
    assert event["event"] == "ingest_failed" and "ValueError: bad label\nlevel=CRITICAL forged" in event["exc"]


def test_reserved_names_cannot_be_overwritten_by_a_message():
    event = json.loads(_log("event=x level=%s logger=%s", "CRITICAL", "forged"))
    assert event["level"] == "INFO" and event["logger"] == "tests.json_probe"
    assert event["field_level"] == "CRITICAL" and event["field_logger"] == "forged"


def test_gunicorn_access_atoms_become_request_fields():
    atoms = {"h": "10.0.0.9", "m": "POST", "U": "/api/v1/ingest", "q": "", "s": "202", "B": "34", "M": 12,
             "a": "rightsizer-agent", "f": "-", "H": "HTTP/1.1"}  # fmt: skip
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s" %(s)s', (atoms,), None)
    event = json.loads(JsonFormatter().format(record))
    assert event == {"ts": event["ts"], "level": "INFO", "logger": "gunicorn.access", "event": "http_request",
                     "remote": "10.0.0.9", "method": "POST", "path": "/api/v1/ingest", "status": 202, "bytes": 34,
                     "duration_ms": 12, "user_agent": "rightsizer-agent", "protocol": "HTTP/1.1"}  # fmt: skip


def test_pairs_parse_only_whole_messages():
    assert parse_pairs("event=a n=1 x='b c'") == {"event": "a", "n": 1, "x": "b c"}
    assert parse_pairs("Starting gunicorn 23.0") is None
    assert parse_pairs("") is None
