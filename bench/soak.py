"""Soak test: the ingest benchmark's load for a long run, with the server restarted midway.

Starts gunicorn against PostgreSQL (it recreates the database named in --database-url),
registers N simulated hosts (bench/ingest.py's: 8 GPUs and one vLLM server each), then each
host pushes a batch of six 5-second samples every 30 s for --duration seconds, open loop.
Each host behaves as an agent with its spool: a batch that fails (connection refused or
reset, time-out, 429, 5xx) stays queued and is sent again, oldest first, after a backoff
with full jitter (collectors.push.Backoff, capped at the push interval; Retry-After when
given). Halfway through, gunicorn is stopped (SIGTERM: in-flight requests finish; or
--restart kill: SIGKILL to the master and its workers) and started again on the same port.
After --duration the hosts keep draining their spools for up to --drain-s seconds.

    python bench/soak.py --duration 600 --hosts 10000

Prints, before and after the restart: rows sent (every batch once), rows stored (counted in
the database afterwards), duplicates (samples the server answered it already had: a batch
stored whose answer was lost), attempts, errors by kind, and the p50/p99 latency of the
accepted pushes. The target is rows stored = rows sent.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (  # noqa: E402 - the path above comes first
    GPUS_PER_HOST,
    PUSH_INTERVAL_S,
    ROOT,
    SAMPLES_PER_PUSH,
    count_rows,
    create_token,
    pct,
    push_body,
    recreate_database,
    rows_per_push,
    start_gunicorn,
    wait_for_port,
)
from collectors.push import Backoff  # noqa: E402

TIMEOUT_S = 30.0  # the agent's read time-out


# ---------------------------------------------------------------- load generator


async def _exchange(port: int, token: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One POST on its own connection; the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (
            f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        writer.write(head + body)
        await writer.drain()
        raw = await reader.read()  # to EOF: Connection: close
    finally:
        writer.close()
    head_bytes, _, answer = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])  # IndexError/ValueError on a cut answer
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, answer


async def _push(port: int, token: str, body: bytes) -> tuple[str, float, int, float | None]:
    """Send one batch: (outcome, latency, duplicate samples, Retry-After)."""
    started = time.perf_counter()
    try:
        status, headers, answer = await asyncio.wait_for(_exchange(port, token, body), TIMEOUT_S)
    except TimeoutError:
        return "timeout", TIMEOUT_S, 0, None
    except ConnectionRefusedError:
        return "refused", time.perf_counter() - started, 0, None
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
        return "reset", time.perf_counter() - started, 0, None
    latency = time.perf_counter() - started
    if status == 202:
        try:
            duplicates = int(json.loads(answer).get("duplicates", 0))
        except ValueError:
            duplicates = 0
        return "ok", latency, duplicates, None
    retry_after = headers.get("retry-after")
    kind = "429" if status == 429 else "5xx" if status >= 500 else f"{status}"
    return kind, latency, 0, float(retry_after) if retry_after and retry_after.isdigit() else None


PERMANENT = {"400", "401", "403", "413", "415", "422"}  # an agent sets these aside: sending again cannot help


def loadgen(port: int, token: str, hosts: int, duration: float, drain_s: float, concurrency_cap: int,
            out: mp.Queue) -> None:  # fmt: skip
    rng = random.Random(7)

    async def run() -> None:
        # Registration: every host once (bounded concurrency), retried until it lands.
        start_ts = time.time()
        sem = asyncio.Semaphore(concurrency_cap)
        reg_attempts: list[tuple] = []

        async def register(h: int) -> None:
            body = push_body(h, start_ts - 60, rng)
            backoff = Backoff(base_s=0.5, cap_s=PUSH_INTERVAL_S, rng=rng)
            while True:
                async with sem:
                    sent = time.time()
                    outcome, latency, dups, retry_after = await _push(port, token, body)
                reg_attempts.append((sent, outcome, latency, dups))
                if outcome == "ok" or outcome in PERMANENT:
                    return
                await asyncio.sleep(backoff.next_delay(retry_after))

        t = time.perf_counter()
        await asyncio.gather(*(register(h) for h in range(hosts)))
        out.put(("register", {"elapsed": time.perf_counter() - t, "attempts": reg_attempts}))

        t0 = time.time() + 1
        t_end, t_stop = t0 + duration, t0 + duration + drain_s
        out.put(("t0", t0))
        attempts: list[tuple] = []  # (sent_at, outcome, latency, duplicates)
        batches: list[tuple[int, float]] = []  # (host, scheduled push time): each batch once
        left: list[int] = []  # batches still spooled when the drain ran out

        async def host(h: int) -> None:
            next_push = t0 + h * PUSH_INTERVAL_S / hosts
            spool: collections.deque[tuple[float, bytes]] = collections.deque()
            backoff = Backoff(base_s=1.0, cap_s=PUSH_INTERVAL_S, rng=random.Random(h))
            retry_at = 0.0
            while True:
                now = time.time()
                wake = next_push if next_push < t_end else float("inf")
                if spool:
                    wake = min(wake, max(retry_at, now))
                if wake == float("inf") or wake >= t_stop:
                    left.append(len(spool))
                    return
                if wake > now:
                    await asyncio.sleep(wake - now)
                if next_push < t_end and time.time() >= next_push:
                    spool.append((next_push, push_body(h, next_push, rng)))
                    batches.append((h, next_push))
                    next_push += PUSH_INTERVAL_S
                if time.time() < retry_at:
                    continue
                while spool:  # oldest first, as the agent's spool drains
                    sent = time.time()
                    outcome, latency, dups, retry_after = await _push(port, token, spool[0][1])
                    attempts.append((sent, outcome, latency, dups))
                    if outcome == "ok" or outcome in PERMANENT:
                        spool.popleft()
                        backoff.reset()
                        continue
                    retry_at = time.time() + backoff.next_delay(retry_after)
                    break

        await asyncio.gather(*(host(h) for h in range(hosts)))
        out.put(("steady", {"attempts": attempts, "batches": batches, "left": sum(left)}))

    asyncio.run(run())


# ---------------------------------------------------------------- orchestration


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def stop_gunicorn(proc: subprocess.Popen, how: str) -> None:
    if how == "kill":
        workers = _children(proc.pid)
        proc.kill()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    else:
        proc.send_signal(signal.SIGTERM)
    proc.wait(60)


def rows_by_phase(url: str, split: dict[int, float]) -> dict[str, dict[str, int]]:
    """Rows stored per table, before and after each host's split time (its last batch scheduled before
    the restart; a batch's samples end at its push time, and the next batch's start 25 s later)."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE soak_split (machine_id text PRIMARY KEY, split_ts timestamptz)")
        buf = io.StringIO()
        for h, ts in split.items():
            buf.write(f"bench-machine-{h:06d}\t{datetime.fromtimestamp(ts + 1, tz=UTC).isoformat()}\n")
        with conn.cursor().copy("COPY soak_split FROM STDIN") as copy:
            copy.write(buf.getvalue())
        joins = {
            "hostsample": "telemetry_host h ON h.id = s.host_id",
            "gpusample": "telemetry_gpu g ON g.id = s.gpu_id JOIN telemetry_host h ON h.id = g.host_id",
            "serversample": "telemetry_inferenceserver g ON g.id = s.server_id "
            "JOIN telemetry_host h ON h.id = g.host_id",
        }
        result: dict[str, dict[str, int]] = {"before": {}, "after": {}}
        for table, join in joins.items():
            before, after = conn.execute(
                f"SELECT count(*) FILTER (WHERE s.ts <= p.split_ts), count(*) FILTER (WHERE s.ts > p.split_ts) "
                f"FROM telemetry_{table} s JOIN {join} JOIN soak_split p ON p.machine_id = h.machine_id"
            ).fetchone()
            result["before"][table], result["after"][table] = before, after
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000, help="simulated hosts, one push each every 30 s")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of steady load")
    parser.add_argument("--drain-s", type=float, default=120.0, help="seconds after --duration to empty the spools")
    parser.add_argument("--restart", choices=["term", "kill"], default="term", help="how gunicorn is stopped midway")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rightsizer_soak")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--register-concurrency", type=int, default=16)
    parser.add_argument("--rate-limit", type=int, default=120,
                        help="RIGHTSIZER_INGEST_RATE_LIMIT_PER_MIN for the server (0: off)")  # fmt: skip
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "RIGHTSIZER_VAR_DIR": str(ROOT / "var" / "soak"),
        "RIGHTSIZER_LOG_LEVEL": "WARNING",
        "RIGHTSIZER_INGEST_RATE_LIMIT_PER_MIN": str(args.rate_limit),
        "RIGHTSIZER_INGEST_NEW_HOSTS_PER_HOUR": "0",  # the whole simulated fleet registers at once
    }
    try:
        import redis

        redis.Redis.from_url(args.redis_url, socket_connect_timeout=1).ping()
        env["REDIS_URL"] = args.redis_url
    except Exception:  # noqa: BLE001 - the limiter then counts per process
        env.pop("REDIS_URL", None)
    recreate_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    token = create_token(env, "soak")
    gunicorn = start_gunicorn(env, args.port, args.workers)
    restart = {}
    try:
        wait_for_port(args.port, gunicorn)
        print(
            f"hosts={args.hosts} gpus_per_host={GPUS_PER_HOST} push_interval_s={PUSH_INTERVAL_S:g} "
            f"rows_per_push={rows_per_push()} target_pushes_per_s={args.hosts / PUSH_INTERVAL_S:.1f} "
            f"duration_s={args.duration:g} restart={args.restart} workers={args.workers} "
            f"redis={'yes' if 'REDIS_URL' in env else 'no'}",
            flush=True,
        )
        out: mp.Queue = mp.Queue()
        gen = mp.Process(target=loadgen, args=(args.port, token, args.hosts, args.duration, args.drain_s,
                                               args.register_concurrency, out))  # fmt: skip
        gen.start()
        reg = out.get()[1]
        print(
            f"registration: {args.hosts} hosts in {reg['elapsed']:.1f} s, attempts={len(reg['attempts'])}", flush=True
        )
        t0 = out.get()[1]
        restart_at = t0 + args.duration / 2
        time.sleep(max(0.0, restart_at - time.time()))
        restart["at"] = time.time()
        stop_gunicorn(gunicorn, args.restart)
        restart["stopped"] = time.time()
        gunicorn = start_gunicorn(env, args.port, args.workers)
        wait_for_port(args.port, gunicorn, timeout_s=60)
        restart["listening"] = time.time()
        print(
            f"restart ({args.restart}) at t+{restart['at'] - t0:.0f} s: "
            f"stopped in {restart['stopped'] - restart['at']:.1f} s, "
            f"listening again {restart['listening'] - restart['at']:.1f} s after the stop began",
            flush=True,
        )
        steady = out.get()[1]
        gen.join()
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(60)

    # Each host's split: its last batch scheduled before the restart (registration is before them all).
    split: dict[int, float] = {h: t0 - PUSH_INTERVAL_S - 10 for h in range(args.hosts)}
    sent = {"before": args.hosts, "after": 0}  # batches; registration counts before
    for h, sched in steady["batches"]:
        phase = "before" if sched < restart_at else "after"
        sent[phase] += 1
        if phase == "before":
            split[h] = max(split[h], sched)
    stored = rows_by_phase(args.database_url, split)
    totals = count_rows(args.database_url)

    attempts = {"before": list(reg["attempts"]), "after": []}
    for a in steady["attempts"]:
        attempts["before" if a[0] < restart_at else "after"].append(a)
    for phase in ("before", "after"):
        rows_sent = sent[phase] * rows_per_push()
        rows_stored = sum(stored[phase].values())
        ok = [a for a in attempts[phase] if a[1] == "ok"]
        errors = collections.Counter(a[1] for a in attempts[phase] if a[1] != "ok")
        dup_samples = sum(a[3] for a in ok)
        latencies = [a[2] for a in ok]
        print(
            f"{phase} restart: rows sent={rows_sent} stored={rows_stored} "
            f"({'equal' if rows_sent == rows_stored else f'{rows_stored - rows_sent:+d}'}; host/gpu/server "
            f"{stored[phase]['hostsample']}/{stored[phase]['gpusample']}/{stored[phase]['serversample']})  "
            f"pushes={sent[phase]} attempts={len(attempts[phase])} accepted={len(ok)} "
            f"duplicates={dup_samples} samples ({dup_samples * rows_per_push() // SAMPLES_PER_PUSH} rows)  "
            f"errors={sum(errors.values())} {dict(errors) if errors else ''}  "
            f"p50_ms={1000 * pct(latencies, 50):.1f} p99_ms={1000 * pct(latencies, 99):.1f}",
            flush=True,
        )
    total_sent = (sent["before"] + sent["after"]) * rows_per_push()
    total_stored = sum(totals.values())
    print(
        f"total: rows sent={total_sent} stored={total_stored} "
        f"{'(rows stored = rows sent)' if total_sent == total_stored else '(MISMATCH)'}  "
        f"batches still spooled at the end={steady['left']}"
    )


if __name__ == "__main__":
    main()
