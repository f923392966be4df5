"""telemetry.wire (msgspec) takes nothing telemetry.schema (pydantic) refuses, and reads it alike.

The fast decoder answers for the common push; a body it takes goes to the database
without pydantic seeing it. So on every hostile body: if wire takes it (and the
fast path's guards let it through), schema takes it too, with the same values.
"""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings

from telemetry import wire
from telemetry.schema import IngestBatch
from telemetry.validation import _UNUSUAL, _consistent
from tests.batches import batch
from tests.telemetry.test_ingest_hostile import hostile_bodies


def _fast_path_takes(body: bytes) -> wire.IngestBatch | None:
    decoded = wire.decode(body)
    now = time.time()
    limits = (now - 30 * 86400, now + 300, 30 * 86400, 300, 20_000)
    if decoded is None or _UNUSUAL.search(body) or not _consistent(decoded, limits):
        return None
    return decoded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=hostile_bodies())
def test_what_the_fast_decoder_takes_the_full_schema_takes_with_the_same_values(body):
    decoded = _fast_path_takes(body)
    if decoded is None:
        return
    checked = IngestBatch.model_validate_json(body)  # raises if the two disagree
    full = json.loads(checked.model_dump_json(include={"samples"}, exclude_none=True))["samples"]
    # Absent and empty lists read alike in the store's SQL; msgspec leaves defaults out.
    assert json.loads(wire.samples_json(decoded)) == [{k: v for k, v in s.items() if v != []} for s in full]
    assert wire.as_dict(decoded.host) == checked.host.model_dump()
    assert [wire.as_dict(g) for g in decoded.gpus] == [g.model_dump() for g in checked.gpus]
    assert [wire.as_dict(s) for s in decoded.servers] == [s.model_dump() for s in checked.servers]


def test_a_plain_agent_batch_takes_the_fast_path():
    body = json.dumps(batch(n_samples=3)).encode()
    decoded = _fast_path_takes(body)
    assert decoded is not None and len(decoded.samples) == 3


def test_a_hostname_that_looks_like_an_exponent_keeps_the_fast_path_and_a_tiny_number_does_not():
    doc = batch(machine_id="bench-machine-000019", hostname="node-12")
    assert _fast_path_takes(json.dumps(doc).encode()) is not None
    doc["samples"][0]["new"] = 1e-15
    assert _fast_path_takes(json.dumps(doc).encode()) is None


def test_every_field_of_the_schema_is_in_the_decoder():
    pairs = [(wire.IngestBatch, IngestBatch), (wire.HostInfo, IngestBatch.model_fields["host"].annotation)]
    for fast, full in pairs:
        assert set(fast.__struct_fields__) == set(full.model_fields)
    from telemetry import schema

    for name in ("AgentInfo", "GpuInfo", "ServerInfo", "GpuProcess", "GpuReading", "ServerReading", "Sample"):
        assert set(getattr(wire, name).__struct_fields__) == set(getattr(schema, name).model_fields), name
