"""The key=value log formatter: one line per event, whatever the values hold.

Hostnames, labels and server ids come from agents, so a value may carry a line
feed that forges a second log line, or an escape sequence that rewrites the
operator's terminal. Every control character in the formatted line (the message,
a traceback, a stack) is written as a visible escape instead.
"""

from __future__ import annotations

import logging

# C0 controls, DEL, C1 controls (U+0085 NEL and U+009B CSI among them) and the two
# Unicode line breaks that some log viewers split on.
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {code: _NAMED.get(chr(code), f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}") for code in _CONTROLS}


def escape_controls(text: str) -> str:
    """The text with every control character as a backslash escape: \\n, \\r, \\t, \\x1b, \\x07, \\u2028…"""
    return text.translate(_ESCAPES)


class KeyValueFormatter(logging.Formatter):
    """logging.Formatter whose output is always one line with no control characters."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))
