"""Ingest benchmark: gunicorn + PostgreSQL, pushed over real HTTP by a separate process.

N simulated hosts (8 GPUs and one vLLM server each) push every 30 s a batch of
six 5-second samples, spread evenly over the interval (so N hosts make N/30
pushes a second). Every host registers once first (the inventory upsert, timed
separately); then the steady phase runs for --duration seconds, open loop: a
push goes out when it is due, whether or not earlier ones have answered.

    python bench/ingest.py --hosts 10000 --duration 60

Prints pushes/s, rows/s, p50/p99/max latency, errors, the rows sent and found
in the database afterwards, bytes per stored row (heap + index, all partitions),
and the same run's ceiling: one client COPYing rows of the same shape into
copies of the sample tables in one transaction, with ingest's rows/s as a share
of it. Needs PostgreSQL (--database-url); uses Redis for the rate
limiter's counters when --redis-url answers.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3
GPUS_PER_HOST = 8
SAMPLES_PER_PUSH = 6
SAMPLE_INTERVAL_S = 5.0
PUSH_INTERVAL_S = 30.0


# --fleet dashboard: the hosts bench/dashboard.py seeds (names, GPUs, models, labels), so the pushes land
# on its database's hosts and the pages read while they are written.
DASHBOARD_GPUS = [("NVIDIA A100-SXM4-80GB", 80), ("NVIDIA H100 80GB HBM3", 80), ("NVIDIA L4", 24)]
DASHBOARD_MODELS = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct"]
FLEET = "ingest"  # set by main()


def host_inventory(h: int) -> dict:
    if FLEET == "dashboard":
        name, (gpu, mem), model = f"bench-{h:05d}", DASHBOARD_GPUS[h % 3], DASHBOARD_MODELS[h % 3]
        machine_id, uuids, labels = name, [f"GPU-{name}-{g}" for g in range(GPUS_PER_HOST)], {
            "deployment": f"dep-{h % 50}", "team": f"t{h % 7}"}  # fmt: skip
    else:
        name, gpu, mem, model = f"bench-{h:06d}", "NVIDIA A100-SXM4-80GB", 80, "meta-llama/Llama-3.1-70B-Instruct"
        machine_id, uuids = f"bench-machine-{h:06d}", [f"GPU-{h:06d}-{g}" for g in range(GPUS_PER_HOST)]
        labels = {"deployment": f"dep-{h % 50}", "simulated": "true"}
    return {
        "agent": {"version": "0.1.0"},
        "host": {
            "hostname": name,
            "machine_id": machine_id,
            "cpu_count": 96,
            "mem_total": 1024 * GIB,
            "os": "Linux 6.8.0",
            "instance_type": "p4d.24xlarge",
            "labels": labels,
        },
        "gpus": [
            {
                "uuid": u,
                "index": g,
                "name": gpu,
                "memory_total": mem * GIB,
                "power_limit_w": 400.0,
            }
            for g, u in enumerate(uuids)
        ],
        "servers": [
            {
                "id": "vllm:8000",
                "kind": "vllm",
                "model": model,
                "dtype": "bfloat16",
                "quantization": None,
                "tensor_parallel": 8,
                "max_batch_size": 256,
                "gpu_uuids": uuids,
            }
        ],
    }


def push_body(h: int, push_ts: float, rng: random.Random) -> bytes:
    inv = host_inventory(h)
    samples = []
    for j in range(SAMPLES_PER_PUSH):
        ts = round(push_ts - PUSH_INTERVAL_S + SAMPLE_INTERVAL_S * (j + 1), 3)
        load = rng.uniform(0.1, 0.9)
        samples.append(
            {
                "ts": ts,
                "cpu_pct": round(100 * load / 4, 2),
                "mem_used": int(200 * GIB * load),
                "net_rx_bps": round(1e6 * load, 1),
                "net_tx_bps": round(3e5 * load, 1),
                "gpus": [
                    {
                        "uuid": g["uuid"],
                        "util_pct": round(100 * load * rng.uniform(0.8, 1), 2),
                        "mem_used": int(72 * GIB),
                        "power_w": round(100 + 250 * load, 1),
                        "temp_c": round(40 + 30 * load, 1),
                    }
                    for g in inv["gpus"]
                ],
                "servers": [
                    {
                        "id": "vllm:8000",
                        "running": int(60 * load),
                        "waiting": 0,
                        "kv_cache_pct": round(80 * load, 2),
                        "batch_size": round(60 * load, 2),
                        "preempted": 0,
                        "prompt_tps": round(9000 * load, 1),
                        "gen_tps": round(2500 * load, 1),
                    }
                ],
            }
        )
    return gzip.compress(json.dumps({**inv, "samples": samples}).encode(), compresslevel=6)


def rows_per_push() -> int:
    return SAMPLES_PER_PUSH * (1 + GPUS_PER_HOST + 1)


# ---------------------------------------------------------------- load generator


async def _post(port: int, token: str, body: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()  # to EOF: the answer is complete
    writer.close()
    return int(status_line.split()[1]), time.perf_counter() - started


async def _run_schedule(
    port: int, token: str, plan: list[tuple[float, bytes]], t0: float, timeout_s: float
) -> list[tuple[float, int, float]]:
    """Send each body at t0 + offset; returns (offset, status, latency) per push."""
    results: list[tuple[float, int, float]] = []

    async def one(offset: float, body: bytes) -> None:
        try:
            status, latency = await asyncio.wait_for(_post(port, token, body), timeout_s)
        except (TimeoutError, OSError, IndexError, ValueError):
            status, latency = 0, timeout_s
        results.append((offset, status, latency))

    tasks = []
    for offset, body in plan:
        delay = t0 + offset - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(offset, body)))
    await asyncio.gather(*tasks)
    return results


def loadgen(
    port: int,
    token: str,
    hosts: int,
    duration: float,
    concurrency_cap: int,
    out: mp.Queue,
    register_only: bool = False,
    interval_s: float = PUSH_INTERVAL_S,
    fleet: str = "ingest",
) -> None:
    global FLEET
    FLEET = fleet  # a spawned process does not inherit main()'s setting
    rng = random.Random(7)
    # Registration: every host once, as fast as the server allows (bounded concurrency).
    start_ts = time.time()
    reg_bodies = [push_body(h, start_ts - 60, rng) for h in range(hosts)]

    async def register(bodies: list[bytes]) -> list[tuple[int, float]]:
        sem = asyncio.Semaphore(concurrency_cap)

        async def one(body: bytes):
            async with sem:
                try:
                    return await _post(port, token, body)
                except OSError:
                    return 0, 0.0

        return await asyncio.gather(*(one(b) for b in bodies))

    t = time.perf_counter()
    reg = asyncio.run(register(reg_bodies))
    out.put(("register", {"elapsed": time.perf_counter() - t, "statuses": [s for s, _ in reg]}))
    del reg_bodies
    if register_only:
        return

    # Steady phase: host h pushes at phase_h + k * interval (30 s, or what --rate asks); bodies are built
    # before the clock starts.
    t0 = time.time() + 2 + hosts / 4000 * PUSH_INTERVAL_S / interval_s  # time to build the plan below
    plan: list[tuple[float, bytes]] = []
    for k in range(int(duration // interval_s) + 1):
        for h in range(hosts):
            offset = h * interval_s / hosts + k * interval_s
            if offset < duration:
                plan.append((offset, push_body(h, t0 + offset, rng)))
    plan.sort(key=lambda p: p[0])
    if time.time() > t0:
        t0 = time.time() + 1
    out.put(("steady_start", {"t0": t0}))
    results = asyncio.run(_run_schedule(port, token, plan, t0, timeout_s=30))
    out.put(("steady", {"results": results, "duration": duration}))


# ---------------------------------------------------------------- orchestration


def recreate_database(url: str) -> None:
    parts = urllib.parse.urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def count_rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM telemetry_{t}").fetchone()[0]
            for t in ("hostsample", "gpusample", "serversample")
        }


def create_token(env: dict[str, str], name: str) -> str:
    return subprocess.run([sys.executable, "manage.py", "create_agent_token", name], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int = 8) -> subprocess.Popen:
    """gthread workers, as the server runs them: a worker's concurrent pushes share a write."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return subprocess.Popen([gunicorn, "rightsizer.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                             "--worker-class", "gthread", "--threads", str(threads),
                             "--backlog", "4096", "--log-level", "warning"], cwd=ROOT, env=env)  # fmt: skip


# ---------------------------------------------------------------- the same run's ceiling and disk


def sample_rows(hosts: int, pushes: int, rng: random.Random) -> dict[str, list[tuple]]:
    """The rows `pushes` pushes of the benchmark store, built as the server would (ids made up)."""
    base = time.time() - 86400
    tables: dict[str, list[tuple]] = {"hostsample": [], "gpusample": [], "serversample": []}
    for k in range(pushes):
        h = k % hosts
        doc = json.loads(gzip.decompress(push_body(h, base + PUSH_INTERVAL_S * (k // hosts + 1), rng)))
        for s in doc["samples"]:
            ts = s["ts"]
            tables["hostsample"].append((h, ts, s["cpu_pct"], s["mem_used"], s["net_rx_bps"], s["net_tx_bps"]))
            for g, reading in enumerate(s["gpus"]):
                tables["gpusample"].append((h * GPUS_PER_HOST + g, ts, reading["util_pct"], reading["mem_used"],
                                            reading["power_w"], reading["temp_c"]))  # fmt: skip
            for r in s["servers"]:
                values = [r[k] for k in ("running", "waiting", "kv_cache_pct", "batch_size", "preempted",
                                         "prompt_tps", "gen_tps")]  # fmt: skip
                tables["serversample"].append((h, ts, *values))
    return tables


COPY_COLUMNS = {
    "hostsample": "host_id, ts, cpu_pct, mem_used_bytes, net_rx_bps, net_tx_bps",
    "gpusample": "gpu_id, ts, util_pct, mem_used_bytes, power_w, temp_c",
    "serversample": "server_id, ts, running, waiting, kv_cache_pct, batch_size, preempted, prompt_tps, gen_tps",
}


def copy_ceiling(url: str, rows: dict[str, list[tuple]]) -> float:
    """Rows/s one client COPYs into copies of the sample tables (their keys, no foreign keys), one commit."""
    with psycopg.connect(url) as conn:
        for t in rows:
            conn.execute(f"DROP TABLE IF EXISTS bench_copy_{t}")
            conn.execute(f"CREATE TABLE bench_copy_{t} (LIKE telemetry_{t} INCLUDING DEFAULTS INCLUDING IDENTITY)")
            key = COPY_COLUMNS[t].split(",")[0]
            conn.execute(f"ALTER TABLE bench_copy_{t} ADD UNIQUE ({key}, ts)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for t, table_rows in rows.items():
                with cur.copy(f"COPY bench_copy_{t} ({COPY_COLUMNS[t]}) FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row((row[0], datetime.fromtimestamp(row[1], tz=UTC), *row[2:]))
        conn.commit()
        elapsed = time.perf_counter() - started
        for t in rows:
            conn.execute(f"DROP TABLE bench_copy_{t}")
        conn.commit()
    return sum(len(r) for r in rows.values()) / elapsed


def bytes_per_row(url: str) -> dict[str, float]:
    """Heap + index + TOAST bytes per stored row of each sample table (all its partitions)."""
    out = {}
    with psycopg.connect(url) as conn:
        conn.execute("CHECKPOINT")  # not needed for sizes, but settles the free-space map
        for t in ("hostsample", "gpusample", "serversample"):
            size = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "WHERE c.oid = %s::regclass "
                "   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)",
                [f"telemetry_{t}", f"telemetry_{t}"],
            ).fetchone()[0]
            n = conn.execute(f"SELECT count(*) FROM telemetry_{t}").fetchone()[0]
            out[t] = size / n if n else float("nan")
    return out


def wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    import socket

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited during start; see its output above")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not listen on {port} within {timeout_s} s")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of steady load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rightsizer_bench")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--register-concurrency", type=int, default=16)
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="reuse the database of an earlier run (hosts already registered)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=120,
        help="RIGHTSIZER_INGEST_RATE_LIMIT_PER_MIN for the server (0: off)",
    )
    parser.add_argument("--register-only", action="store_true", help="stop after the first push of every host")
    parser.add_argument(
        "--new-hosts-per-hour",
        type=int,
        default=0,
        help="RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR for the server (0: off, so the whole fleet registers at once)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="offered pushes/s (default: hosts/30, a push per host every 30 s); each host then pushes every "
        "hosts/rate seconds, six 5-s samples a push as always",
    )
    parser.add_argument(
        "--fleet",
        choices=["ingest", "dashboard"],
        default="ingest",
        help="dashboard: push as the hosts bench/dashboard.py seeded (implies --keep-db; point --database-url "
        "at its database), so bench/reads_during_ingest.py can read its pages while they are written",
    )
    args = parser.parse_args()
    global FLEET
    FLEET = args.fleet
    if args.fleet == "dashboard":
        args.keep_db = True
    interval_s = PUSH_INTERVAL_S if args.rate is None else args.hosts / args.rate
    if interval_s < PUSH_INTERVAL_S:
        sys.exit(f"--rate {args.rate:g} with --hosts {args.hosts} makes a host push every {interval_s:.1f} s, "
                 f"under the {PUSH_INTERVAL_S:g} s its six samples span: use more hosts")  # fmt: skip

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "RIGHTSIZER_VAR_DIR": str(ROOT / "var" / "bench"),
        "RIGHTSIZER_LOG_LEVEL": "WARNING",
        "RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR": str(args.new_hosts_per_hour),
    }
    try:
        import redis

        redis.Redis.from_url(args.redis_url, socket_connect_timeout=1).ping()
        env["REDIS_URL"] = args.redis_url
    except Exception:  # noqa: BLE001 - the limiter then counts per process
        env.pop("REDIS_URL", None)
    if not args.keep_db:
        recreate_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    token = create_token(env, "bench")
    before = count_rows(args.database_url)  # an earlier run's rows, or the seeded ones of --fleet dashboard
    gunicorn = start_gunicorn(env, args.port, args.workers, args.threads)
    try:
        wait_for_port(args.port, gunicorn)
        print(
            f"hosts={args.hosts} gpus_per_host={GPUS_PER_HOST} fleet={args.fleet} "
            f"samples_per_push={SAMPLES_PER_PUSH} rows_per_push={rows_per_push()} "
            f"target_pushes_per_s={args.hosts / interval_s:.1f} push_interval_s={interval_s:g} "
            f"workers={args.workers} threads={args.threads} "
            f"redis={'yes' if 'REDIS_URL' in env else 'no'}",
            flush=True,
        )
        out: mp.Queue = mp.Queue()
        gen = mp.Process(
            target=loadgen,
            args=(args.port, token, args.hosts, args.duration, args.register_concurrency, out, args.register_only,
                  interval_s, args.fleet),
        )  # fmt: skip
        gen.start()
        reg = out.get()[1]
        ok = sum(1 for s in reg["statuses"] if s == 202)
        print(
            f"registration: {args.hosts} first pushes in {reg['elapsed']:.1f} s "
            f"({args.hosts / reg['elapsed']:.0f}/s), errors={args.hosts - ok}",
            flush=True,
        )
        if args.register_only:
            gen.join()
            return
        t0 = out.get()[1]["t0"]
        print(f"steady: starts at {t0:.3f} for {args.duration:g} s", flush=True)  # read by reads_during_ingest.py
        steady = out.get()[1]
        gen.join()
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(30)
    results = steady["results"]
    latencies = [lat for _, s, lat in results if s == 202]
    errors = sum(1 for _, s, _ in results if s != 202)
    span = max(o + lat for o, _, lat in results) if results else 0.0
    pushes_s = len(latencies) / max(span, steady["duration"])
    found = count_rows(args.database_url)
    stored = (ok + len(latencies)) * SAMPLES_PER_PUSH  # host (and server) samples the answered pushes carried
    print(
        f"steady: pushes={len(results)} in {span:.1f} s  pushes/s={pushes_s:.1f}  "
        f"rows/s={pushes_s * rows_per_push():.0f}  p50_ms={1000 * pct(latencies, 50):.1f}  "
        f"p99_ms={1000 * pct(latencies, 99):.1f}  max_ms={1000 * max(latencies or [0]):.1f}  "
        f"errors={errors}"
    )
    sent = (ok + len(results)) * rows_per_push()
    print(
        f"database: rows_sent={sent} rows_found={sum(found.values()) - sum(before.values())} "
        f"host_samples={found['hostsample']} (expected {before['hostsample'] + stored})  "
        f"gpu_samples={found['gpusample']} (expected {before['gpusample'] + stored * GPUS_PER_HOST})  "
        f"server_samples={found['serversample']} (expected {before['serversample'] + stored})"
    )
    sizes = bytes_per_row(args.database_url)
    per_gpu_sample = (sizes["gpusample"] * GPUS_PER_HOST + sizes["hostsample"] + sizes["serversample"]) / GPUS_PER_HOST
    print(
        f"disk: bytes_per_row host={sizes['hostsample']:.0f} gpu={sizes['gpusample']:.0f} "
        f"server={sizes['serversample']:.0f}  per GPU sample with its host and server share={per_gpu_sample:.0f}"
    )
    ingest_rows_s = pushes_s * rows_per_push()
    ceiling = copy_ceiling(args.database_url, sample_rows(args.hosts, min(len(results), 20_000), random.Random(3)))
    print(
        f"ceiling: COPY of the same rows, one client, one commit: {ceiling:.0f} rows/s; "
        f"ingest reached {ingest_rows_s:.0f} rows/s = {100 * ingest_rows_s / ceiling:.0f}% of it"
    )


if __name__ == "__main__":
    main()
