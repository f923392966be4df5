"""The agent→server wire contract, version 1 (DESIGN.md, "The wire contract").

Strict types: a string where a number belongs is an error, not a conversion.
Unknown fields are ignored so that a newer agent can talk to an older server
(fields are added, never repurposed). Optional fields may be absent or null;
either way they are stored as NULL, never as zero.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from telemetry.models.inventory import SERVER_KINDS

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL; refuse it up front

# Physical bounds: what a real machine can report, with room to spare. They keep every
# stored value, and every time-weighted sum the rollups and the analysis build from it,
# far inside a float8 or a bigint (README, "The ingest API", has the table).
TIB = 1024**4
MAX_MEM_BYTES = 64 * TIB  # host RAM, swap, GPU memory: the largest single machines hold ~32 TiB
MAX_RATE_BPS = 1e12  # network and disk, bytes/s: 800 Gb/s × 10
MAX_POWER_W = 5000.0  # one GPU (or superchip) draws ≤ ~2.7 kW
MAX_ENERGY_J = 1e15  # a GPU's energy counter: 5 kW for over 6,000 years
MAX_CLOCK_MHZ = 10_000.0
MAX_COUNT = 1e7  # requests running, waiting, preempted; batch size; load average
MAX_TPS = 1e9  # tokens or requests per second, per server
MAX_QUEUE_MS = 1e10  # ~115 days
MAX_BATCH = 10_000_000  # a server's max_batch_size
MAX_INT32 = 2**31 - 1

Pct = Annotated[float, Field(ge=0, le=100, description="percent, 0–100")]
Bytes = Annotated[int, Field(ge=0, le=MAX_MEM_BYTES, description="bytes, ≤ 64 TiB")]
RateBps = Annotated[float, Field(ge=0, le=MAX_RATE_BPS, description="bytes/s, ≤ 1e12")]
PowerW = Annotated[float, Field(ge=0, le=MAX_POWER_W, description="watts, ≤ 5000")]
Count = Annotated[float, Field(ge=0, le=MAX_COUNT, description="count, ≤ 1e7")]
Tps = Annotated[float, Field(ge=0, le=MAX_TPS, description="per second, ≤ 1e9")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
ShortText = Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=NO_NUL)]
LabelValue = Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)


class AgentInfo(_Strict):
    version: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_NUL)]


class HostInfo(_Strict):
    hostname: Name
    machine_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
    cpu_count: Annotated[int, Field(ge=1, le=65536, description="logical CPUs")] | None = None
    mem_total: Bytes | None = None
    os: ShortText = ""
    labels: Annotated[dict[LabelKey, LabelValue], Field(max_length=64)] = Field(default_factory=dict)
    instance_type: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] = ""


class GpuInfo(_Strict):
    uuid: Annotated[str, StringConstraints(min_length=1, max_length=96, pattern=NO_NUL)]
    index: Annotated[int, Field(ge=0, le=1024)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
    memory_total: Bytes
    power_limit_w: PowerW | None = None


class ServerInfo(_Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
    kind: Literal[tuple(SERVER_KINDS)]  # type: ignore[valid-type]
    model: ShortText | None = None
    dtype: Annotated[str, StringConstraints(max_length=32, pattern=NO_NUL)] | None = None
    quantization: Annotated[str, StringConstraints(max_length=32, pattern=NO_NUL)] | None = None
    tensor_parallel: Annotated[int, Field(ge=1, le=1024)] | None = None
    max_batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] | None = None
    gpu_uuids: Annotated[
        list[Annotated[str, StringConstraints(max_length=96, pattern=NO_NUL)]], Field(max_length=1024)
    ] = Field(default_factory=list)


class GpuProcess(_Strict):
    """A process holding GPU memory (nvidia-smi --query-compute-apps), with its name and command line."""

    gpu_uuid: Annotated[str, StringConstraints(min_length=1, max_length=96, pattern=NO_NUL)]
    pid: Annotated[int, Field(ge=0, le=MAX_INT32)]
    gpu_mem_used: Bytes | None = None
    name: ShortText = ""
    cmdline: Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)] = ""


class GpuReading(_Strict):
    uuid: Annotated[str, StringConstraints(min_length=1, max_length=96, pattern=NO_NUL)]
    util_pct: Pct | None = None
    mem_util_pct: Pct | None = None
    mem_used: Bytes | None = None
    power_w: PowerW | None = None
    temp_c: Annotated[float, Field(ge=-50, le=200)] | None = None
    sm_clock_mhz: Annotated[float, Field(ge=0, le=MAX_CLOCK_MHZ)] | None = None
    energy_j: Annotated[float, Field(ge=0, le=MAX_ENERGY_J)] | None = None


class ServerReading(_Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
    running: Count | None = None
    waiting: Count | None = None
    kv_cache_pct: Pct | None = None
    batch_size: Count | None = None
    preempted: Count | None = None
    prompt_tps: Tps | None = None
    gen_tps: Tps | None = None
    requests_ps: Tps | None = None
    queue_time_ms: Annotated[float, Field(ge=0, le=MAX_QUEUE_MS)] | None = None


class Sample(_Strict):
    ts: float = Field(description="Unix seconds, UTC.")
    cpu_pct: Pct | None = None
    load1: Count | None = None
    mem_used: Bytes | None = None
    mem_available: Bytes | None = None
    swap_used: Bytes | None = None
    net_rx_bps: RateBps | None = None
    net_tx_bps: RateBps | None = None
    disk_read_bps: RateBps | None = None
    disk_write_bps: RateBps | None = None
    gpus: Annotated[list[GpuReading], Field(max_length=1024)] = Field(default_factory=list)
    servers: Annotated[list[ServerReading], Field(max_length=256)] = Field(default_factory=list)


class IngestBatch(_Strict):
    """One host and a batch of its samples."""

    agent: AgentInfo
    host: HostInfo
    gpus: Annotated[list[GpuInfo], Field(max_length=1024)] = Field(default_factory=list)
    servers: Annotated[list[ServerInfo], Field(max_length=256)] = Field(default_factory=list)
    processes: Annotated[list[GpuProcess], Field(max_length=4096)] = Field(default_factory=list)
    samples: Annotated[list[Sample], Field(min_length=1)]


class IngestAccepted(BaseModel):
    accepted: int = Field(description="Samples stored by this request.")
    duplicates: int = Field(description="Samples already stored by an earlier request.")


class FieldError(BaseModel):
    path: str = Field(description="Dotted path of the bad field, e.g. samples.0.gpus.1.util_pct.")
    message: str
    type: str


class ErrorBody(BaseModel):
    error: str = Field(description="A stable machine-readable code.")
    message: str = Field(description="What was wrong and what to do, for a person.")
    errors: list[FieldError] | None = None
