"""The simulator, pushed through the agent's push path into a real ingest server."""

from __future__ import annotations

import json
import time

from collectors.push import Pusher
from collectors.simulate import ARCHETYPES, simulate


def test_a_simulated_fleet_lands_with_every_archetype(ingest_server):
    hosts = len(ARCHETYPES)
    # Yesterday 06:00–18:00 UTC: the window holds the simulated daily peak whenever the test runs.
    end = (time.time() // 86400) * 86400 - 6 * 3600
    sent = simulate(Pusher(ingest_server.url, ingest_server.token), hosts=hosts, days=0.5, step_s=600, end=end)
    assert sent["errors"] == 0 and sent["samples"] == hosts * 72
    rows = ingest_server.query("SELECT hostname, labels FROM telemetry_host")
    assert len(rows) == hosts
    assert all(json.loads(labels)["simulated"] == "true" for _, labels in rows)
    deployments = {json.loads(labels)["deployment"] for _, labels in rows}
    assert deployments == {a.name for a in ARCHETYPES}

    # The cases the recommender must tell apart are in the data.
    def gpu_stat(deployment: str, expr: str) -> float:
        return ingest_server.query(
            f"SELECT {expr} FROM telemetry_gpusample g JOIN telemetry_gpu u ON u.id = g.gpu_id "
            f"JOIN telemetry_host h ON h.id = u.host_id WHERE h.labels LIKE '%\"{deployment}\"%'"
        )[0][0]

    def server_stat(deployment: str, expr: str) -> float:
        return ingest_server.query(
            f"SELECT {expr} FROM telemetry_serversample s JOIN telemetry_inferenceserver i ON i.id = s.server_id "
            f"JOIN telemetry_host h ON h.id = i.host_id WHERE h.labels LIKE '%\"{deployment}\"%'"
        )[0][0]

    assert gpu_stat("idle-gpu", "max(util_pct)") < 5  # idle, yet holding memory:
    assert gpu_stat("idle-gpu", "min(mem_used_bytes)") > 60 * 1024**3
    assert server_stat("saturated", "max(kv_cache_pct)") > 95 and server_stat("saturated", "max(waiting)") > 30
    assert (
        server_stat("batching-limited", "max(waiting)") > 10
        and server_stat("batching-limited", "max(kv_cache_pct)") < 20
    )
    assert gpu_stat("llama70b-bf16", "count(DISTINCT gpu_id)") == 4
    assert (
        ingest_server.query(
            "SELECT count(*) FROM telemetry_gpu u JOIN telemetry_host h ON h.id = u.host_id "
            "WHERE h.labels LIKE '%cpu-only%'"
        )[0][0]
        == 0
    )
