"""Nothing a host sends can break the server: hostile bodies are a 4xx and store nothing.

Property: a valid batch with random JSON mixed in (wrong types, huge and tiny numbers,
NUL characters, deep nesting within the limits, unknown fields) is never answered with
a 5xx; a 4xx answers the API's JSON error and leaves every table as it was; a 202 stores
only values within the documented bounds.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from telemetry.models import Gpu, GpuSample, Host, HostSample, InferenceServer, ServerSample
from telemetry.schema import MAX_MEM_BYTES, MAX_RATE_BPS
from tests.batches import batch, post

pytestmark = pytest.mark.django_db

TABLES = (Host, Gpu, InferenceServer, HostSample, GpuSample, ServerSample)

# Number literals json.dumps cannot write, spliced into the text in place of a marker string.
RAW_NUMBERS = ["1e-400", "-1e-400", "5e-324", "1e400", "-1e400", "1e308", "-0", "-0.0", "0e-999",
               "9" * 400, "1" + "0" * 30, "2147483648", "9223372036854775808", "1.7976931348623157e308",
               "0." + "0" * 40 + "1", "NaN", "Infinity", "-Infinity", "4e-320"]  # fmt: skip
STRINGS = ["", "\x00", "a\x00b", "35", "GPU-aaaa", "vllm:8000", "é" * 300, "\u2028", "\\u0000", "x" * 5000]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-300, max_value=1e-300),
    st.sampled_from(STRINGS),
    st.text(max_size=20),
    st.sampled_from(RAW_NUMBERS).map(lambda literal: f"__RAW__{literal}__"),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(["a", "uuid", "\x00", "ts"]), children)
    ),
    max_leaves=12,
)

# Where a value may land: every field of the contract, and new fields beside them.
PATHS = [
    ("agent", "version"), ("agent", "new"), ("host", "hostname"), ("host", "machine_id"),
    ("host", "cpu_count"), ("host", "mem_total"), ("host", "os"), ("host", "labels"),
    ("host", "labels", "team"), ("host", "instance_type"), ("host", "new"),
    ("gpus",), ("gpus", 0), ("gpus", 0, "uuid"), ("gpus", 0, "index"), ("gpus", 0, "name"),
    ("gpus", 0, "memory_total"), ("gpus", 0, "power_limit_w"), ("gpus", 0, "new"),
    ("servers",), ("servers", 0, "id"), ("servers", 0, "kind"), ("servers", 0, "model"),
    ("servers", 0, "dtype"), ("servers", 0, "quantization"), ("servers", 0, "tensor_parallel"),
    ("servers", 0, "max_batch_size"), ("servers", 0, "gpu_uuids"), ("servers", 0, "gpu_uuids", 0),
    ("servers", 0, "new"), ("processes",), ("samples",), ("samples", 0), ("samples", 0, "ts"),
    *[("samples", 0, f) for f in ("cpu_pct", "load1", "mem_used", "mem_available", "swap_used",
                                  "net_rx_bps", "net_tx_bps", "disk_read_bps", "disk_write_bps", "new")],
    ("samples", 0, "gpus"), ("samples", 0, "gpus", 0, "uuid"),
    *[("samples", 0, "gpus", 0, f) for f in ("util_pct", "mem_util_pct", "mem_used", "power_w", "temp_c",
                                             "sm_clock_mhz", "energy_j", "new")],
    ("samples", 0, "servers"), ("samples", 0, "servers", 0, "id"),
    *[("samples", 0, "servers", 0, f) for f in ("running", "waiting", "kv_cache_pct", "batch_size",
                                                "preempted", "prompt_tps", "gen_tps", "requests_ps",
                                                "queue_time_ms", "new")],
    ("new",),
]  # fmt: skip


def _put(doc: dict, path: tuple, value) -> None:
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict) and isinstance(key, str) and isinstance(node.get(key), (dict, list)):
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return  # an earlier change replaced the parent: nothing to put
    last = path[-1]
    if isinstance(node, dict):
        node[last if isinstance(last, str) else str(last)] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value


@st.composite
def hostile_bodies(draw) -> bytes:
    doc = batch(n_samples=2)
    for path, value in draw(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=4)):
        _put(doc, path, value)
    if draw(st.booleans()):  # deep nesting, within what the parsers take
        depth = draw(st.integers(min_value=10, max_value=150))
        _put(doc, ("samples", 0, "new"), json.loads("[" * depth + "]" * depth))
    text = json.dumps(doc)
    for literal in RAW_NUMBERS:
        text = text.replace(json.dumps(f"__RAW__{literal}__"), literal)
    return text.encode()


def _counts() -> list[int]:
    return [model.objects.count() for model in TABLES]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])  # fmt: skip
@given(body=hostile_bodies())
def test_a_hostile_body_is_never_a_5xx_and_a_refusal_stores_nothing(client, agent_token, settings, body):
    settings.INGEST_RATE_LIMIT_PER_MIN = 0
    before = _counts()
    resp = post(client, agent_token[1], body)
    event(f"status {resp.status_code}")
    assert resp.status_code < 500, (resp.content, body[:2000])
    if resp.status_code >= 400:
        answer = resp.json()
        assert set(answer) <= {"error", "message", "errors"} and answer["message"], answer
        assert _counts() == before, body[:2000]
    else:
        assert resp.status_code == 202, resp.content
        for s in HostSample.objects.all():
            assert s.cpu_pct is None or 0 <= s.cpu_pct <= 100
            assert s.mem_used_bytes is None or 0 <= s.mem_used_bytes <= MAX_MEM_BYTES
            assert s.net_rx_bps is None or 0 <= s.net_rx_bps <= MAX_RATE_BPS


@pytest.mark.parametrize("literal", RAW_NUMBERS)
@pytest.mark.parametrize("field", ["cpu_pct", "new_field"])
def test_every_raw_literal_in_a_known_or_unknown_field_is_answered(client, agent_token, literal, field):
    text = json.dumps(batch(n_samples=1)).replace('"cpu_pct": 12.5', f'"{field}": {literal}')
    resp = post(client, agent_token[1], text.encode())
    assert resp.status_code < 500, resp.content
    if resp.status_code != 202:
        assert Host.objects.count() == 0 and HostSample.objects.count() == 0


@pytest.mark.parametrize(
    "extra",
    ['"deep": ' + "[" * 5000 + "]" * 5000, '"big": ' + "9" * 5000, '"big": ' + "9" * 5000 + ', "n": "a\\u0000"'],
)
def test_nesting_or_digits_past_the_parser_limits_are_a_400(client, agent_token, extra):
    text = json.dumps(batch(n_samples=1))[:-1] + ", " + extra + "}"
    resp = post(client, agent_token[1], text.encode())
    assert resp.status_code == 400 and resp.json()["error"] == "malformed", resp.content
    assert _counts() == [0] * len(TABLES)
