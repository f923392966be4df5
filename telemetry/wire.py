"""The wire contract's fast decoder: msgspec Structs with telemetry.schema's bounds.

telemetry.schema (pydantic) stays the contract's description: the OpenAPI schema and
the per-field error report come from it. A push is first decoded here, in one pass
and without a pydantic object per reading (a tenth of the cost); only a body this
decoder refuses goes through pydantic, whose errors the 422 lists. So this decoder
must never accept what schema.py refuses; tests/telemetry/test_wire.py holds the two
to the same answers on valid and hostile bodies.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from telemetry.models.inventory import SERVER_KINDS
from telemetry.schema import (
    MAX_BATCH,
    MAX_CLOCK_MHZ,
    MAX_COUNT,
    MAX_ENERGY_J,
    MAX_INT32,
    MAX_MEM_BYTES,
    MAX_POWER_W,
    MAX_QUEUE_MS,
    MAX_RATE_BPS,
    MAX_TPS,
)

Pct = Annotated[float, Meta(ge=0, le=100)]
Bytes = Annotated[int, Meta(ge=0, le=MAX_MEM_BYTES)]
RateBps = Annotated[float, Meta(ge=0, le=MAX_RATE_BPS)]
PowerW = Annotated[float, Meta(ge=0, le=MAX_POWER_W)]
Count = Annotated[float, Meta(ge=0, le=MAX_COUNT)]
Tps = Annotated[float, Meta(ge=0, le=MAX_TPS)]


def _text(max_length: int, min_length: int = 0) -> type:
    # No NO_NUL pattern: parse_batch refuses any body holding \u0000 before it stores
    # anything (validation._unstorable), and a regex per string is most of the cost.
    return Annotated[str, Meta(min_length=min_length, max_length=max_length)]


Name = _text(255, 1)
ShortText = _text(255)


class _Struct(msgspec.Struct, frozen=True, omit_defaults=True):
    pass


class AgentInfo(_Struct):
    version: _text(32, 1)


class HostInfo(_Struct):
    hostname: Name
    machine_id: _text(128, 1)
    cpu_count: Annotated[int, Meta(ge=1, le=65536)] | None = None
    mem_total: Bytes | None = None
    os: ShortText = ""
    labels: Annotated[dict[_text(63, 1), _text(255)], Meta(max_length=64)] = {}
    instance_type: _text(64) = ""


class GpuInfo(_Struct):
    uuid: _text(96, 1)
    index: Annotated[int, Meta(ge=0, le=1024)]
    name: _text(128, 1)
    memory_total: Bytes
    power_limit_w: PowerW | None = None


class ServerInfo(_Struct):
    id: _text(128, 1)
    kind: Literal[tuple(SERVER_KINDS)]  # type: ignore[valid-type]
    model: ShortText | None = None
    dtype: _text(32) | None = None
    quantization: _text(32) | None = None
    tensor_parallel: Annotated[int, Meta(ge=1, le=1024)] | None = None
    max_batch_size: Annotated[int, Meta(ge=1, le=MAX_BATCH)] | None = None
    gpu_uuids: Annotated[list[_text(96)], Meta(max_length=1024)] = []


class GpuProcess(_Struct):
    gpu_uuid: _text(96, 1)
    pid: Annotated[int, Meta(ge=0, le=MAX_INT32)]
    gpu_mem_used: Bytes | None = None
    name: ShortText = ""
    cmdline: _text(1000) = ""


class GpuReading(_Struct):
    uuid: _text(96, 1)
    util_pct: Pct | None = None
    mem_util_pct: Pct | None = None
    mem_used: Bytes | None = None
    power_w: PowerW | None = None
    temp_c: Annotated[float, Meta(ge=-50, le=200)] | None = None
    sm_clock_mhz: Annotated[float, Meta(ge=0, le=MAX_CLOCK_MHZ)] | None = None
    energy_j: Annotated[float, Meta(ge=0, le=MAX_ENERGY_J)] | None = None


class ServerReading(_Struct):
    id: _text(128, 1)
    running: Count | None = None
    waiting: Count | None = None
    kv_cache_pct: Pct | None = None
    batch_size: Count | None = None
    preempted: Count | None = None
    prompt_tps: Tps | None = None
    gen_tps: Tps | None = None
    requests_ps: Tps | None = None
    queue_time_ms: Annotated[float, Meta(ge=0, le=MAX_QUEUE_MS)] | None = None


class Sample(_Struct):
    ts: float
    cpu_pct: Pct | None = None
    load1: Count | None = None
    mem_used: Bytes | None = None
    mem_available: Bytes | None = None
    swap_used: Bytes | None = None
    net_rx_bps: RateBps | None = None
    net_tx_bps: RateBps | None = None
    disk_read_bps: RateBps | None = None
    disk_write_bps: RateBps | None = None
    gpus: Annotated[list[GpuReading], Meta(max_length=1024)] = []
    servers: Annotated[list[ServerReading], Meta(max_length=256)] = []


class IngestBatch(_Struct, kw_only=True):
    agent: AgentInfo
    host: HostInfo
    gpus: Annotated[list[GpuInfo], Meta(max_length=1024)] = []
    servers: Annotated[list[ServerInfo], Meta(max_length=256)] = []
    processes: Annotated[list[GpuProcess], Meta(max_length=4096)] = []
    samples: Annotated[list[Sample], Meta(min_length=1)]


_decoder = msgspec.json.Decoder(IngestBatch)
_encoder = msgspec.json.Encoder()


def decode(body: bytes) -> IngestBatch | None:
    """The batch, or None when the body breaks any rule (pydantic then says which)."""
    try:
        return _decoder.decode(body)
    except Exception:  # noqa: BLE001 - any refusal, even an unexpected one, goes to the full check
        return None


def samples_json(batch: IngestBatch) -> bytes:
    """The validated samples as JSON (absent fields left out), never the agent's own text."""
    return _encoder.encode(batch.samples)


def as_dict(part: msgspec.Struct) -> dict:
    """Every field, defaults included (the inventory fingerprint's input)."""
    return {f: getattr(part, f) for f in part.__struct_fields__}
