"""CPU cost of one push: gunicorn (1 worker) and PostgreSQL, one push at a time.

Needs the database of an earlier `bench/ingest.py` run (its hosts registered).
Pushes N steady-state batches sequentially and reads the CPU time the gunicorn
worker and all PostgreSQL processes spent meanwhile.

    python bench/ingest_serial.py --pushes 500
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ROOT, create_token, push_body, start_gunicorn, wait_for_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=3000, help="hosts registered by the earlier run")
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rightsizer_bench")
    parser.add_argument("--rate-limit", type=int, default=0)
    parser.add_argument("--warm-passes", type=int, default=0,
                        help="push each measured host this often first (earlier samples), as in steady state, "
                             "where the worker has seen the host before")  # fmt: skip
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "RIGHTSIZER_VAR_DIR": str(ROOT / "var" / "bench"),
        "RIGHTSIZER_LOG_LEVEL": "WARNING",
        "RIGHTSIZER_INGEST_RATE_LIMIT_PER_MIN": str(args.rate_limit),
    }
    token = create_token(env, "serial")
    gunicorn = start_gunicorn(env, args.port, workers=1)
    try:
        wait_for_port(args.port, gunicorn)
        rng, now = random.Random(5), time.time()
        hosts = rng.sample(range(args.hosts), min(args.hosts, args.pushes + 50))
        bodies = [push_body(h % args.hosts, now - 25 + i * 0.001, rng) for i, h in enumerate(hosts)]

        def post(body: bytes) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", args.port)
            conn.request("POST", "/api/v1/ingest", body, {"Authorization": f"Bearer {token}",
                         "Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip
            resp = conn.getresponse()
            resp.read()
            conn.close()
            return resp.status

        for body in bodies[:50]:  # warm up: connections, caches
            post(body)
        for k in range(args.warm_passes, 0, -1):  # the measured hosts, 30 s earlier per pass
            for i, h in enumerate(hosts[50:]):
                post(push_body(h % args.hosts, now - 25 - 30 * k + i * 0.001, random.Random(h)))
        worker = psutil.Process(gunicorn.pid).children()[0]
        pg = [p for p in psutil.process_iter(["username"]) if p.info["username"] == "postgres"]

        def pg_cpu() -> float:
            return sum(sum(p.cpu_times()[:2]) for p in pg if p.is_running())

        w0, p0, t0 = sum(worker.cpu_times()[:2]), pg_cpu(), time.perf_counter()
        statuses = [post(body) for body in bodies[50:]]
        n, elapsed = len(statuses), time.perf_counter() - t0
        print(
            f"pushes={n} errors={sum(s != 202 for s in statuses)} wall_ms_per_push={1000 * elapsed / n:.2f} "
            f"gunicorn_cpu_ms_per_push={1000 * (sum(worker.cpu_times()[:2]) - w0) / n:.2f} "
            f"postgres_cpu_ms_per_push={1000 * (pg_cpu() - p0) / n:.2f}"
        )
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)


if __name__ == "__main__":
    main()
