"""Schemathesis against the API as served: every operation in /api/v1/openapi.json.

The schema is the one the WSGI application serves at /api/v1/openapi.json (Django's whole
stack: middleware, URL routing, ninja), loaded with `schemathesis.openapi.from_wsgi`; each
operation is its own test. Schemathesis sends it requests that follow the schema and
requests that break it (its coverage and fuzzing phases, positive and negative), through
the same application in-process, with real credentials (an agent token for the ingest, a
personal API token rsp_… for the reads), against the test database, committing as in
production. A test fails on any 5xx and on an answer the schema does not allow: a status
code it does not list, a body, header or content type that does not match it.

The ingest's time window and its cross-references are not in the schema, so before each
call the batch is made plausible: every numeric `samples[].ts` moves into the accepted
window (now − a few minutes), and the GPU and server ids that samples, servers and
processes name are ids the batch declares (made unique). Otherwise nearly every batch
would be a 422 and the store would never be reached; the ingest's test checks it was.

Bounded for CI: RIGHTSIZER_FUZZ_EXAMPLES examples per operation in the fuzzing phase
(default 25; the coverage phase adds its own boundary cases, about 800 for the ingest),
10 s per request at most; RIGHTSIZER_FUZZ_SEED picks another run than CI's fixed one.
The push and new-host rate limits are off here: the fuzz pushes far faster than an agent,
and nearly every batch names a new host.
"""

from __future__ import annotations

import collections
import os
import random
import time
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import Config

from rightsizer.wsgi import application
from telemetry.models import AgentToken, ApiToken, HostSample

MAX_EXAMPLES = int(os.environ.get("RIGHTSIZER_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("RIGHTSIZER_FUZZ_SEED", "20261202"))
DEADLINE_S = 10  # one request; a 2-core CI machine is slow, but no request should take this long
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]
INGEST = "/api/v1/ingest"

CONFIG = Config.from_dict(
    {
        "seed": SEED,
        "cache": {"enabled": False},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
STATUSES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def _ids(items, field: str) -> list[str]:
    """The string ids of a list of objects, made unique in place (a repeated id is a 422 of its own)."""
    seen: list[str] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and isinstance(item.get(field), str):
            if item[field] in seen:
                item[field] = f"{item[field]}#{i}"
            seen.append(item[field])
    return seen


def plausible(body, now: float | None = None):
    """The batch with its samples in the accepted window and its references pointing at what it declares."""
    if not isinstance(body, dict):
        return body
    rng = random.Random(repr(body))
    now = time.time() if now is None else now
    gpus, servers = _ids(body.get("gpus"), "uuid"), _ids(body.get("servers"), "id")

    def point(items, field: str, known: list[str]) -> None:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get(field), str):
                if known:
                    item[field] = rng.choice(known)
                else:
                    del item[field]  # optional where it can be absent; a 422 where it cannot

    for server in body.get("servers") if isinstance(body.get("servers"), list) else []:
        if isinstance(server, dict) and isinstance(server.get("gpu_uuids"), list):
            server["gpu_uuids"] = [rng.choice(gpus) for _ in server["gpu_uuids"]] if gpus else []
    point(body.get("processes"), "gpu_uuid", gpus)
    for sample in body.get("samples") if isinstance(body.get("samples"), list) else []:
        if not isinstance(sample, dict):
            continue
        if isinstance(sample.get("ts"), int | float) and not isinstance(sample["ts"], bool):
            sample["ts"] = round(now - rng.uniform(5, 300), 3)
        point(sample.get("gpus"), "uuid", gpus)
        point(sample.get("servers"), "id", servers)
    return body


@schema.hook("after_call")
def count_status(context, case, response) -> None:
    STATUSES[case.path][response.status_code] += 1


@pytest.fixture
def bearer(request, transactional_db, settings, django_user_model):
    """Authorization headers for the ingest and for the reads. Transactional: the application commits."""
    settings.INGEST_RATE_LIMIT_PER_MIN = 0  # the fuzz pushes far faster than an agent,
    settings.INGEST_NEW_HOSTS_PER_HOUR = 0  # and nearly every batch names a new host
    _, agent_token = AgentToken.issue("fuzz")
    reader = django_user_model.objects.create_user("fuzz-reader", "fuzz@example.com", "fuzz-pass-123")
    _, api_token = ApiToken.issue(reader, "fuzz")
    STATUSES.clear()
    yield {"agent": {"Authorization": f"Bearer {agent_token}"}, "read": {"Authorization": f"Bearer {api_token}"}}
    answers = sum(STATUSES.values(), collections.Counter())
    print(f"\n{request.node.name}: {answers.total()} requests, answers {dict(sorted(answers.items()))}")
    if "ingest" in request.node.name:
        # The fuzz reached the store, not just the validation in front of it.
        assert STATUSES[INGEST][202] > 0, dict(STATUSES[INGEST])
        assert HostSample.objects.exists()


@schema.parametrize()
# The fixture is set up once per operation, on purpose: its tokens hold for every example.
@hypothesis_settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=timedelta(seconds=DEADLINE_S)
)
def test_no_request_breaks_the_api_or_its_schema(case, bearer):
    if case.path == INGEST:
        case.body = plausible(case.body)
    case.call_and_validate(headers=bearer["agent" if case.path == INGEST else "read"])
