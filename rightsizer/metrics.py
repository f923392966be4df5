"""What this process counts for Prometheus: ingest requests, rows and latency; Celery task runs.

Every metric is declared here once. Under gunicorn or a prefork Celery worker each process
counts in its own files under PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess
mode) and the scrape adds them up; without that variable (tests, runserver) the counts
live in this process. The fleet's state (hosts, GPUs, advice, beat lag) is read from the
database at scrape time instead: rightsizer.fleet_metrics.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

log = logging.getLogger(__name__)

INGEST_PATH = "/api/v1/ingest"
SPOOL_HEADER = "Rightsizer-Agent-Spool"
# Agents push every 30 s; a push takes milliseconds unless the database is slow.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
SPOOL_STATES = ("waiting", "dropped", "failed", "rejected")

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the files open as the metrics below are made
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

INGEST_REQUESTS = Counter(
    "rightsizer_ingest_requests", "Pushes to the ingest API by outcome (accepted or refused).", ["outcome"]
)
INGEST_REFUSED = Counter(
    "rightsizer_ingest_refused", "Refused pushes by the error code of the answer (unauthorized, too_large, …).",
    ["reason", "status"],
)  # fmt: skip
INGEST_ROWS = Counter(
    "rightsizer_ingest_rows", "Samples in accepted pushes: stored, or already stored (duplicate).", ["outcome"]
)
INGEST_SECONDS = Histogram(
    "rightsizer_ingest_duration_seconds", "Time to answer a push, refused or not.", buckets=LATENCY_BUCKETS
)
TASK_RUNS = Counter("rightsizer_task_runs", "Celery task runs that ended, by task.", ["task"])
TASK_FAILURES = Counter("rightsizer_task_failures", "Celery task runs that raised, by task.", ["task"])
TASK_SECONDS = Histogram("rightsizer_task_duration_seconds", "Celery task run time, by task.", ["task"],
                         buckets=TASK_BUCKETS)  # fmt: skip
# What each agent said of its spool in its latest push (cumulative on the agent's disk).
# mostrecent: of all the web processes' values for a host, the latest push wins.
AGENT_SPOOL = Gauge(
    "rightsizer_agent_spool_batches",
    "Batches in an agent's spool as it last reported: waiting to be sent, dropped (past a bound, "
    "disk full), failed (set aside after repeated 5xx), rejected (set aside after a 4xx).",
    ["host", "state"],
    multiprocess_mode="mostrecent",
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def registry() -> CollectorRegistry:
    """This process's metrics, or every process's when they count in files."""
    if multiprocess_dir():
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def process_exited(pid: int) -> None:
    """Forget a dead process's live gauges (its counters stay: totals never go back)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


# --- Ingest: observed around the view, from the answer and the agent's spool header.


class IngestMetrics:
    """Middleware: counts every answer of the ingest API by outcome and times it."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path != INGEST_PATH or request.method != "POST":
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        INGEST_SECONDS.observe(time.perf_counter() - started)
        observe_answer(response.status_code, getattr(response, "content", b""))
        if response.status_code == 202:  # only a valid token's word adds a series
            agent_reported(request.headers.get(SPOOL_HEADER, ""))
        return response


def observe_answer(status: int, content: bytes) -> None:
    body = _json(content)
    if status == 202:
        INGEST_REQUESTS.labels("accepted").inc()
        INGEST_ROWS.labels("stored").inc(_count(body.get("accepted")))
        INGEST_ROWS.labels("duplicate").inc(_count(body.get("duplicates")))
        return
    INGEST_REQUESTS.labels("refused").inc()
    reason = body.get("error") if isinstance(body.get("error"), str) else "unknown"
    INGEST_REFUSED.labels(reason[:32], str(status)).inc()


def agent_reported(header: str) -> None:
    """The spool counts an agent sends beside each push, e.g. `host=gpu-7&waiting=3&dropped=0&failed=0&rejected=1`
    (a header rather than a body field: it is about the agent's transport, not the host's telemetry)."""
    fields = {k: v[0] for k, v in parse_qs(header[:1024]).items()}
    host = fields.get("host", "")[:255]
    if not host:
        return
    for state in SPOOL_STATES:
        value = fields.get(state, "")
        if value.isdigit() and len(value) <= 10:
            AGENT_SPOOL.labels(host, state).set(int(value))


def _json(content: bytes) -> dict:
    try:
        value = json.loads(content or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


# --- Celery: connected to the task signals by rightsizer.celery.

_started: dict[str, float] = {}


def task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


def task_ended(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    began = _started.pop(task_id, None) if task_id else None
    seconds = None if began is None else time.monotonic() - began
    name = getattr(task, "name", "unknown")
    TASK_RUNS.labels(name).inc()
    if seconds is not None:
        TASK_SECONDS.labels(name).observe(seconds)
    from rightsizer.taskruns import record

    record(name, ok=state == "SUCCESS", seconds=seconds)


def task_failed(sender: Any = None, **_: Any) -> None:
    TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()
