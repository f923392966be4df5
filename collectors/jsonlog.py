"""One JSON object per log event, for the agent and the server alike (RIGHTSIZER_LOG_FORMAT=json).

Log calls stay `log.info("event=push_deferred status=%s retry_in_s=%.1f", …)`; this formatter
turns a message made wholly of key=value pairs into fields ({"event": "push_deferred",
"status": 503, …}) and keeps any other message whole as "msg". gunicorn's access log gives
its atoms (method, path, status, …) as fields of an `http_request` event.

Escaping: the object is written with ensure_ascii, so every control character, line break
(U+2028 too) and escape sequence in a value from an agent is a \\uXXXX escape: one event
is always one line, and no value can forge another or drive the operator's terminal.
Lives in collectors/ because the agent installs without the server and never imports Django.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import time
from typing import Any

# key=value, key='repr text', key="quoted text"; an unquoted value runs to the next " key=" (so
# "name=NVIDIA A10G gpus=1" reads as two fields). A message that is not wholly pairs stays "msg".
_PAIR = re.compile(
    r"""([A-Za-z_][\w.]*)=('(?:[^'\\]|\\.)*'(?=\s|$)|"(?:[^"\\]|\\.)*"(?=\s|$)|(?:(?!\s+[A-Za-z_][\w.]*=).)*)(?:\s+|$)"""
)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,17})(?:\.\d+)?")
_RESERVED = {"ts", "level", "logger"}
# gunicorn's access-log atoms (glogging.Logger.atoms) and the names they get here.
_ACCESS = {"h": "remote", "m": "method", "U": "path", "q": "query", "s": "status", "B": "bytes",
           "M": "duration_ms", "a": "user_agent", "f": "referer", "H": "protocol"}  # fmt: skip


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            out.update(_access_fields(record.args))
        else:
            message = record.getMessage()
            fields = parse_pairs(message)
            if fields is None:
                out["msg"] = message
            else:
                out.update({(f"field_{k}" if k in _RESERVED else k): v for k, v in fields.items()})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=True, default=str, separators=(",", ":"))


def parse_pairs(message: str) -> dict[str, Any] | None:
    """{"event": "x", "n": 3} for "event=x n=3"; None unless the whole message is pairs."""
    fields: dict[str, Any] = {}
    pos, text = 0, message.strip()
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if not m or m.end() == pos:
            return None
        fields[m.group(1)] = _value(m.group(2))
        pos = m.end()
    return fields or None


def _value(raw: str) -> Any:
    if raw[:1] in ("'", '"'):
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
    if _NUMBER.fullmatch(raw):
        return float(raw) if "." in raw else int(raw)
    return raw


def _access_fields(atoms: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"event": "http_request"}
    for atom, name in _ACCESS.items():
        value = atoms.get(atom)
        if value in (None, "-", ""):
            continue
        fields[name] = int(value) if name in ("status", "bytes", "duration_ms") and str(value).isdigit() else value
    return fields


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"
