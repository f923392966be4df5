"""Turn a request body into a batch (telemetry.wire), or an ApiError naming every bad field.

A body is first decoded by telemetry.wire (msgspec) and checked for consistency in
one cheap pass; only one that fails there, or looks unusual, takes the full path
below, so every refusal is answered exactly as the full path answers it.

Three checks, reported together: pydantic checks each field's type and range
(the physical bounds are in telemetry.schema); a walk finds what no database
column can hold anywhere in the body (NUL characters, numbers too small to be
stored exactly); then the checks that need the whole batch (time window,
references between sections, duplicates). The raw JSON may be of any shape, so
the last two never assume a type.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from telemetry import wire
from telemetry.errors import ApiError
from telemetry.schema import IngestBatch

log = logging.getLogger(__name__)


def decode_body(raw: bytes, encoding: str, max_decompressed: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise ApiError(
            415,
            "unsupported_encoding",
            f"Content-Encoding {encoding!r} is not supported: send gzip or an uncompressed body.",
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, max_decompressed + 1)
    except zlib.error as exc:
        raise ApiError(400, "bad_gzip", f"The body is not valid gzip ({exc}); resend it.") from None
    if len(body) > max_decompressed or inflater.unconsumed_tail:
        raise ApiError(
            413,
            "too_large",
            f"The body decompresses to more than {max_decompressed} bytes: send fewer samples per request.",
        )
    if not inflater.eof:
        raise ApiError(400, "bad_gzip", "The gzip body is truncated; resend it.")
    return body


def parse_batch(body: bytes, now: float, max_age_s: float, max_future_s: float, max_samples: int) -> wire.IngestBatch:
    limits = (now - max_age_s, now + max_future_s, max_age_s, max_future_s, max_samples)
    batch = wire.decode(body)
    if batch is not None and not _UNUSUAL.search(body) and _consistent(batch, limits):
        return batch  # the common case: one msgspec pass and a few set lookups
    # Anything wrong, or unusual: the full check names every bad field.
    try:
        checked = IngestBatch.model_validate_json(body)
    except ValidationError as exc:
        raise _from_pydantic(exc, body, limits) from None
    errors = _merge(_unstorable(body), _semantic_errors(checked, limits))
    if errors:
        raise _unprocessable(errors)
    if batch is None:  # schema.py took what wire.py refused: the two disagree, keep to the stricter
        log.warning("event=wire_decoder_refused: telemetry.wire and telemetry.schema disagree on a body")
        raise ApiError(400, "malformed", "The body could not be decoded: check that it is the agent's JSON batch.")
    return batch


def _consistent(batch: wire.IngestBatch, limits: tuple) -> bool:
    """True when _semantic_errors would find nothing (checked without building any error)."""
    oldest, newest, _, _, max_samples = limits
    if len(batch.samples) > max_samples:
        return False
    gpu_uuids = {g.uuid for g in batch.gpus}
    server_ids = {s.id for s in batch.servers}
    if len(gpu_uuids) != len(batch.gpus) or len(server_ids) != len(batch.servers):
        return False
    if any(p.gpu_uuid not in gpu_uuids for p in batch.processes):
        return False
    if any(not gpu_uuids.issuperset(s.gpu_uuids) for s in batch.servers):
        return False
    for sample in batch.samples:
        if not oldest <= sample.ts <= newest:
            return False
        for readings, known, key in ((sample.gpus, gpu_uuids, "uuid"), (sample.servers, server_ids, "id")):
            if readings:
                seen = {getattr(r, key) for r in readings}
                if len(seen) != len(readings) or not known.issuperset(seen):
                    return False
    return True


def _from_pydantic(exc: ValidationError, body: bytes, limits: tuple) -> ApiError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(not e["loc"] and e["type"] in ("json_invalid", "json_type", "model_type") for e in errors):
        return ApiError(400, "malformed", f"The body is not a JSON object ({errors[0]['msg']}).")
    found = [{"path": _path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in errors]
    # Report the whole-batch problems in the same answer, so one round trip
    # shows every bad field; the checks below tolerate the wrong types.
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        raw = {}
    return _unprocessable(_merge(found, _unstorable(body), _semantic_errors(raw, limits)))


def _merge(*lists: list[dict]) -> list[dict]:
    """The errors in order, one per path (the first check to name a path explains it)."""
    seen: set[str] = set()
    merged = []
    for error in (e for errors in lists for e in errors):
        if error["path"] not in seen:
            seen.add(error["path"])
            merged.append(error)
    return merged


def _path(loc) -> str:
    # A NUL inside a key would be invisible in the answer: spell it out.
    return ".".join(str(p).replace("\x00", "\\u0000") for p in loc) or "(body)"


# Numbers the JSON parsers read one way and PostgreSQL another: 1e-400 is 0.0 to Python
# but an underflow error to PostgreSQL, and float8 arithmetic on subnormals fails the
# same way. Nothing a machine measures is that small, so a non-zero number under
# MIN_MAGNITUDE is refused, like a NUL character, which no PostgreSQL text can hold.
# A byte scan tells whether the exact walk (as slow as parsing) is needed; it seldom is.
MIN_MAGNITUDE = Decimal("1e-30")
# A non-zero number under 1e-30 has an exponent of -10 or below, or 20 zeros after its point.
_SUSPECT = re.compile(rb"[eE]-0*[1-9][0-9]|\.0{20,}|\\u0000")
# What sends a body the fast decoder took to the full path anyway: what _SUSPECT finds in a
# number (a JSON exponent always follows a digit, so "node-12" in a hostname is let be), a
# NUL, and a number of 1,000+ digits (pydantic's parser refuses 4,300+ even in an unknown
# field: a 400).
_UNUSUAL = re.compile(rb"[0-9][eE]-0*[1-9][0-9]|\.0{20,}|\\u0000|[0-9]{1000}")


class _TooSmall:
    def __init__(self, literal: str):
        self.literal = literal


def _number(literal: str) -> float | _TooSmall:
    exact = Decimal(literal)
    if exact and abs(exact) < MIN_MAGNITUDE:
        return _TooSmall(literal)
    return float(literal)


def _unstorable(body: bytes) -> list[dict]:
    """NUL characters and too-small numbers anywhere in the body, known fields or not."""
    if not _SUSPECT.search(body):
        return []
    try:
        doc = json.loads(body, parse_float=_number, parse_int=len)  # an int's value never matters here
    except (ValueError, RecursionError):
        return []  # not JSON: pydantic's error says so
    errors: list[dict] = []
    stack: list[tuple[tuple, Any]] = [((), doc)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if "\x00" in key:
                    errors.append(_nul(loc + (key,), "its name"))
                stack.append((loc + (key,), value))
        elif isinstance(node, list):
            stack.extend((loc + (i,), value) for i, value in enumerate(node))
        elif isinstance(node, str) and "\x00" in node:
            errors.append(_nul(loc, "it"))
        elif isinstance(node, _TooSmall):
            shown = node.literal if len(node.literal) <= 40 else node.literal[:37] + "..."
            message = f"{shown} is not 0 but smaller than {MIN_MAGNITUDE:g}, too small to store: send 0"
            errors.append({"path": _path(loc), "message": message, "type": "too_small"})
    return sorted(errors, key=lambda e: e["path"])


def _nul(loc: tuple, what: str) -> dict:
    message = f"{what[0].upper()}{what[1:]} holds a NUL character (\\u0000), which cannot be stored: remove it"
    return {"path": _path(loc), "message": message, "type": "nul_character"}


def _unprocessable(errors: list[dict]) -> ApiError:
    n = len(errors)
    return ApiError(
        422,
        "invalid",
        f"{n} field{'s' if n != 1 else ''} failed validation, so nothing was stored; "
        "see 'errors' for each path, fix the agent or its configuration, and resend.",
        errors=errors,
    )


def _get(obj: Any, key: str) -> Any:
    """A field of a validated model or of raw JSON (which may be of any type)."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None) if isinstance(obj, BaseModel) else None


def _items(obj: Any, key: str) -> list:
    value = _get(obj, key)
    return value if isinstance(value, list) else []


def _semantic_errors(batch: Any, limits: tuple) -> list[dict]:
    oldest, newest, max_age_s, max_future_s, max_samples = limits
    errors: list[dict] = []

    def bad(path: str, message: str, kind: str) -> None:
        errors.append({"path": path, "message": message, "type": kind})

    samples = _items(batch, "samples")
    if len(samples) > max_samples:
        bad(
            "samples",
            f"{len(samples)} samples in one request; the limit is {max_samples}",
            "too_many_samples",
        )
    gpu_uuids = _unique(_items(batch, "gpus"), "uuid", "gpus", bad)
    server_ids = _unique(_items(batch, "servers"), "id", "servers", bad)
    for i, proc in enumerate(_items(batch, "processes")):
        uuid = _get(proc, "gpu_uuid")
        if isinstance(uuid, str) and uuid not in gpu_uuids:
            bad(f"processes.{i}.gpu_uuid", f"GPU {uuid!r} is not listed in 'gpus'", "unknown_gpu")
    for i, server in enumerate(_items(batch, "servers")):
        for j, uuid in enumerate(_items(server, "gpu_uuids")):
            if isinstance(uuid, str) and uuid not in gpu_uuids:
                bad(f"servers.{i}.gpu_uuids.{j}", f"GPU {uuid!r} is not listed in 'gpus'", "unknown_gpu")
    for i, sample in enumerate(samples):
        ts = _get(sample, "ts")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            if ts < oldest:
                bad(f"samples.{i}.ts", f"{ts} is more than {max_age_s / 86400:g} days old", "too_old")
            elif ts > newest:
                bad(
                    f"samples.{i}.ts",
                    f"{ts} is more than {max_future_s:g} s in the future: check the host's clock",
                    "in_future",
                )
        _references(_items(sample, "gpus"), "uuid", gpu_uuids, f"samples.{i}.gpus", "gpus", bad)
        _references(_items(sample, "servers"), "id", server_ids, f"samples.{i}.servers", "servers", bad)
    return errors


def _unique(items: list, key: str, section: str, bad) -> set:
    seen: set = set()
    for i, item in enumerate(items):
        value = _get(item, key)
        if not isinstance(value, str):
            continue
        if value in seen:
            bad(f"{section}.{i}.{key}", f"{value!r} is listed twice", "duplicate")
        seen.add(value)
    return seen


def _references(readings: list, key: str, known: set, path: str, section: str, bad) -> None:
    seen: set = set()
    for j, reading in enumerate(readings):
        value = _get(reading, key)
        if not isinstance(value, str):
            continue
        if value not in known:
            bad(f"{path}.{j}.{key}", f"{value!r} is not listed in '{section}'", "unknown_reference")
        elif value in seen:
            bad(f"{path}.{j}.{key}", f"{value!r} has two readings in one sample", "duplicate")
        seen.add(value)
