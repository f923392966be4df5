"""Reads while ingest writes: the fleet page, a deployment page and a host's 30-day chart, timed
before and during `bench/ingest.py` pushing to the same database's hosts.

Needs a database seeded by bench/dashboard.py (its hosts, GPUs and 30 days of hourly rollups):

    python bench/dashboard.py --hosts 10000 --database rs_dash10k            # seeds, then times alone
    python bench/reads_during_ingest.py --database rs_dash10k --hosts 10000 --rate 130 --duration 120

First each page is timed with nothing else running (--baseline requests each); then
bench/ingest.py starts as a separate process (gunicorn and its own load generator) with
`--fleet dashboard`, so its pushes are those of the seeded hosts: their first push syncs the
inventory (timed by ingest.py as registration), then the steady phase offers --rate pushes/s
for --duration seconds. During the steady phase this process requests the three pages in
turn, through Django's whole stack as bench/dashboard.py does, and prints median / p99 / max
per page for both phases, then ingest.py's own figures (pushes/s, latency, errors, rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fresh_db import use_database  # noqa: E402 — bench/ is the script's own folder, first on sys.path

PAGES = [
    ("fleet page /", "/"),
    ("deployment page", "/deployments/dep-7/"),
    ("host chart JSON 30 d", "/hosts/{host}/series.json?range=30d"),
]


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def row(label: str, times: list[float]) -> str:
    if not times:
        return f"  {label:<24} no request"
    return (f"  {label:<24} n={len(times):<4} median={statistics.median(times):7.1f} ms  p99={p99(times):7.1f} ms  "
            f"max={max(times):7.1f} ms")  # fmt: skip


def client_for_bench():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.filter(username="bench").first()
    user = user or get_user_model().objects.create_superuser("bench", "", "bench-pass-123")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def timed_get(client, url: str) -> float:
    t = time.perf_counter()
    resp = client.get(url)
    elapsed = (time.perf_counter() - t) * 1000
    if resp.status_code != 200:
        sys.exit(f"{url} answered {resp.status_code}: {resp.content[:300]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a database bench/dashboard.py seeded")
    parser.add_argument("--hosts", type=int, required=True, help="the hosts it seeded (the pushes come from all)")
    parser.add_argument("--rate", type=float, default=130.0, help="offered pushes/s (default 130: half of the "
                        "~260 pushes/s measured on the 2-core machine)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of steady ingest")
    parser.add_argument("--baseline", type=int, default=10, help="requests per page before ingest starts")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL, no database")
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()

    use_database(args.server, args.database)
    from telemetry.models import Host

    found = Host.objects.count()
    if found != args.hosts:
        sys.exit(f"{args.database} holds {found} hosts, not --hosts {args.hosts}: seed it with bench/dashboard.py")
    host = Host.objects.get(machine_id="bench-00000").pk
    pages = [(label, url.format(host=host)) for label, url in PAGES]
    client = client_for_bench()
    for _, url in pages:
        timed_get(client, url)  # warm-up: caches, the first connection

    alone: dict[str, list[float]] = {label: [] for label, _ in pages}
    for _ in range(args.baseline):
        for label, url in pages:
            alone[label].append(timed_get(client, url))
    print(f"alone (load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}):", flush=True)
    for label, _ in pages:
        print(row(label, alone[label]), flush=True)

    cmd = [sys.executable, str(ROOT / "bench" / "ingest.py"), "--fleet", "dashboard", "--hosts", str(args.hosts),
           "--rate", str(args.rate), "--duration", str(args.duration), "--port", str(args.port),
           "--database-url", f"{args.server}/{args.database}"]  # fmt: skip
    print("$", " ".join(cmd[1:]), flush=True)
    ingest = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    start: list[float] = []
    ready = threading.Event()

    def relay() -> None:
        for line in ingest.stdout:
            print("  ingest |", line.rstrip(), flush=True)
            if line.startswith("steady: starts at"):
                start.append(float(line.split()[3]))
                ready.set()
        ready.set()

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    ready.wait()
    if not start:
        sys.exit(f"ingest.py ended before its steady phase (exit {ingest.wait()})")
    begin, end = start[0] + 5, start[0] + args.duration - 2  # past the first seconds, before the last pushes
    time.sleep(max(0.0, begin - time.time()))
    during: dict[str, list[float]] = {label: [] for label, _ in pages}
    loads = []
    while time.time() < end:
        for label, url in pages:
            during[label].append(timed_get(client, url))
        loads.append(os.getloadavg()[0])
        time.sleep(0.5)  # a reader's pace, not a load test of the pages
    print(f"during ingest at {args.rate:g} pushes/s offered (load average {min(loads):.1f}–{max(loads):.1f}):",
          flush=True)  # fmt: skip
    for label, _ in pages:
        print(row(label, during[label]), flush=True)
    code = ingest.wait()
    relay_thread.join(5)
    if code:
        sys.exit(f"ingest.py failed (exit {code})")


if __name__ == "__main__":
    main()
