"""PostgreSQL connections dropped mid-request (pg_terminate_backend, on a database of the test's own)."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from tests.batches import batch
from tests.collectors.conftest import free_port
from tests.faults.conftest import Server, push, stored_ts, wait_for

PG_ADMIN = os.environ.get("RIGHTSIZER_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def connect(url: str, autocommit: bool = True):
    import psycopg

    return psycopg.connect(url, autocommit=autocommit, connect_timeout=5)


@pytest.fixture(scope="session")
def _pg_template(tmp_path_factory):
    """A migrated PostgreSQL database and agent token, once a session; each test gets a copy."""
    try:
        admin = connect(PG_ADMIN)
    except Exception as exc:  # noqa: BLE001 - any reason it cannot connect
        pytest.skip(f"PostgreSQL not available at {PG_ADMIN}: {exc}")
    name = f"rightsizer_faults_tmpl_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        template = Server(tmp_path_factory.mktemp("faults-pg"), 0, "")
        template.extra_env = {"DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + name}
        template.manage("migrate", "-v0")
        template.token = template.manage("create_agent_token", "fault-tests")
        yield admin, name, template.token
    finally:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def pg_server(_pg_template, tmp_path):
    """gunicorn on a PostgreSQL database made for this test (a copy of the template; dropped after)."""
    admin, template, token = _pg_template
    name = f"rightsizer_faults_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        server = Server(tmp_path / "server", free_port(), token)
        server.extra_env = {"DATABASE_URL": url}

        def query(sql: str, params=()) -> list[tuple]:
            with connect(url) as conn:
                return conn.execute(sql, params).fetchall()

        server.query, server.db_url, server.db_name = query, url, name
        server.start()
        try:
            yield server, admin
        finally:
            server.stop()
    finally:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def waiting_on_locks(admin, name: str) -> list[int]:
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", [name]
    ).fetchall()
    return [r[0] for r in rows]


def drop_waiting_connections(admin, name: str) -> None:
    """pg_terminate_backend on the server's connections of this database that wait mid-statement."""
    assert wait_for(lambda: waiting_on_locks(admin, name), 20), "no server request reached the database"
    for pid in waiting_on_locks(admin, name):
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def counts_at(server, ts: list[float]) -> tuple[int, int, int]:
    """Host, GPU and server sample rows at these times."""
    return server.query(
        "SELECT (SELECT count(*) FROM telemetry_hostsample WHERE ts = ANY(%(ts)s)),"
        " (SELECT count(*) FROM telemetry_gpusample WHERE ts = ANY(%(ts)s)),"
        " (SELECT count(*) FROM telemetry_serversample WHERE ts = ANY(%(ts)s))",
        {"ts": [_at(t) for t in ts]},
    )[0]


def _at(t: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, tz=UTC)


def test_a_connection_dropped_mid_statement_answers_503_and_the_batch_is_stored_whole_or_not(pg_server):
    server, admin = pg_server
    start = time.time() - 600
    warm, cut = (batch(n_samples=6, start=start + 30 * k, interval_s=5.0) for k in range(2))
    assert push(server.url, server.token, warm)[0] == 202  # the server now holds a connection
    cut_ts = [s["ts"] for s in cut["samples"]]

    # This test's transaction takes the GPU row of the batch's last sample first (uncommitted): the
    # server's statement writes the host rows, then waits on that row; then its connection is dropped.
    blocker = connect(server.db_url, autocommit=False)
    gpu_id = blocker.execute("SELECT id FROM telemetry_gpu WHERE uuid = 'GPU-aaaa'").fetchone()[0]
    blocker.execute("INSERT INTO telemetry_gpusample (gpu_id, ts) VALUES (%s, to_timestamp(%s::float8))",
                    [gpu_id, cut_ts[-1]])  # fmt: skip
    answered: list[tuple] = []
    pusher = threading.Thread(target=lambda: answered.append(push(server.url, server.token, cut)))
    pusher.start()
    try:
        drop_waiting_connections(admin, server.db_name)
        pusher.join(30)
    finally:
        blocker.rollback()
        blocker.close()
    status, headers, answer = answered[0]
    assert status == 503, answer
    assert answer["error"] == "unavailable" and "retry" in answer["message"].lower()
    assert headers["retry-after"] == "5"
    assert counts_at(server, cut_ts) == (0, 0, 0)  # nothing half-written: the host rows went too

    # The retry stores it whole, and the server's next connection is a fresh one.
    status, _, answer = push(server.url, server.token, cut)
    assert (status, answer) == (202, {"accepted": 6, "duplicates": 0})
    assert counts_at(server, cut_ts) == (6, 6, 6)
    assert push(server.url, server.token, warm)[2] == {"accepted": 0, "duplicates": 6}


def test_the_agent_retries_through_dropped_database_connections(pg_server, agents, tmp_path):
    server, admin = pg_server
    agent = agents(server.url, server.token, tmp_path / "agent", 0.5, 2.0)
    assert wait_for(lambda: stored_ts(server), 30)  # registered and pushing
    blocker = connect(server.db_url, autocommit=False)
    blocker.execute("LOCK TABLE telemetry_hostsample IN ACCESS EXCLUSIVE MODE")
    try:
        drop_waiting_connections(admin, server.db_name)  # the agent's next push, mid-request
        assert wait_for(lambda: "status=503" in agent.log.read_text(), 20), agent.log.read_text()
    finally:
        blocker.rollback()
        blocker.close()
    log = agent.log.read_text()
    assert "retry_in_s=5.0" in log and "The database is unavailable" in log  # Retry-After and the JSON message
    time.sleep(5.5)  # its Retry-After
    assert wait_for(lambda: not agent.spooled(), 20), agent.log.read_text()
    log = agent.stop()
    assert "still_spooled=0" in log
    ts = stored_ts(server)
    total, distinct = server.query("SELECT count(*), count(DISTINCT (host_id, ts)) FROM telemetry_hostsample")[0]
    assert total == distinct == len(ts)
    assert abs(len(ts) - (round((ts[-1] - ts[0]) / 0.5) + 1)) <= 1  # none missing across the drop
