"""Trends benchmark: the trends page and its CSV over 4,000 hosts × 90 days, on PostgreSQL.

The page reads one row per host and UTC day (dashboard.models.TrendDay), summed once from the
hourly rollups; so its two costs are measured apart:

  1. summing days from the rollups (a cold page, or the first load after midnight): the dashboard
     benchmark's seeder writes `--rollup-days` of hourly rollups for every host, GPU and server, and
     the days they cover are summed and timed; a 90-day cold start is that per-day time × 90;
  2. the page itself with 90 summed days: the days before those are written straight into TrendDay
     (4,000 × 90 rows), then the page and the CSV are timed through Django's full request stack.

    python bench/trends.py --hosts 4000 --gpus 8 --days 90

Target: the page under 1 s at 4,000 hosts × 90 days (its two passes over the host-days are then cached until a
day is summed again or a price changes), its query count constant in the fleet size.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fresh_db import setup_fresh_database  # noqa: E402 — bench/ is the script's own folder, first on sys.path


def _dashboard_bench():
    """bench/dashboard.py, for its seeder (its module name would shadow the dashboard app)."""
    spec = importlib.util.spec_from_file_location("bench_dashboard", Path(__file__).with_name("dashboard.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=4000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--days", type=int, default=90, help="days the page shows")
    parser.add_argument("--rollup-days", type=int, default=2, help="days of hourly rollups seeded and summed")
    parser.add_argument("--repeat", type=int, default=10, help="requests per measured URL")
    parser.add_argument("--database", default="rightsizer_bench_trends")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL, no database")
    args = parser.parse_args()

    setup_fresh_database(args.server, args.database)
    bench = _dashboard_bench()
    hour = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    t = time.monotonic()
    bench.seed(0, args.hosts, args.gpus, args.rollup_days + 1, hour)
    print(f"seeded {args.hosts} hosts × {args.gpus} GPUs × {args.rollup_days + 1} days of hourly rollups "
          f"in {time.monotonic() - t:.0f} s")  # fmt: skip
    from recommender.summary import summarize

    summarize()
    sum_rollups(args, hour)
    fill_the_rest(args.days)
    client = bench.login()
    report(args, client)


def sum_rollups(args, hour: datetime) -> None:
    """Time the summing of the complete days the seeded rollups cover."""
    from dashboard import trend_days
    from dashboard.models import TrendDay

    last = hour.date() - timedelta(days=1)
    first = last - timedelta(days=args.rollup_days - 1)
    t = time.monotonic()
    trend_days.ensure(first, last)
    took = time.monotonic() - t
    per_day = took / args.rollup_days
    print(f"summed {args.rollup_days} days ({TrendDay.objects.count():,} host-days, "
          f"{args.hosts * args.gpus * 24 * args.rollup_days:,} GPU rollup rows) in {took:.1f} s: "
          f"{per_day:.1f} s a day; a cold {args.days}-day start ≈ {per_day * args.days / 60:.1f} min")  # fmt: skip


def fill_the_rest(days: int) -> None:
    """The days before the summed ones, written straight into TrendDay and marked final (the page's steady state)."""
    from django.db import connection

    from dashboard import trends

    first, last = trends.window(days)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO dashboard_trendday (day, host_id, host_s, gpu_s, gpu_busy_s, tokens) "
            "SELECT d::date, h.id, 86400, 8 * 86400, (h.id %% 10) * 0.08 * 86400, (h.id %% 5) * 1e6 "
            "FROM telemetry_host h CROSS JOIN generate_series(%s::date, %s::date, '1 day') d "
            "ON CONFLICT DO NOTHING",
            [first, last],
        )
        cur.execute(
            "INSERT INTO dashboard_trenddaydone (day, computed_at) "
            "SELECT d::date, now() FROM generate_series(%s::date, %s::date, '1 day') d ON CONFLICT DO NOTHING",
            [first, last],
        )
        cur.execute("ANALYZE dashboard_trendday")
        cur.execute("SELECT count(*) FROM dashboard_trendday")
        print(f"TrendDay rows: {cur.fetchone()[0]:,}")


def timed(client, url: str, repeat: int) -> tuple[float, float, float, int, int]:
    """Milliseconds of the first request after the cache is emptied, then the median and worst over `repeat`
    (the cache kept), the response size and the queries of a cached request."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    t = time.perf_counter()
    resp = client.get(url)
    first = (time.perf_counter() - t) * 1000
    assert resp.status_code == 200, (url, resp.status_code, resp.content[:300])
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = len(ctx.captured_queries)  # now: each request empties the log the list is read from
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        resp = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(times), max(times), len(resp.content), queries


def report(args, client) -> None:
    print(f"\nmilliseconds: first request with an empty cache; median / worst of {args.repeat} more; size; queries")
    for label, url in [(f"trends page, {args.days} days, key=team", f"/trends/?days={args.days}&key=team"),
                       ("trends page, 30 days, key=deployment", "/trends/?days=30&key=deployment"),
                       (f"labels CSV, {args.days} days", f"/trends/labels.csv?key=team&days={args.days}")]:  # fmt: skip
        first, median, worst, size, queries = timed(client, url, args.repeat)
        print(f"  {label:<40} {first:7.1f}; {median:7.1f} / {worst:7.1f}   {size / 1024:7.1f} KiB   {queries} queries")


if __name__ == "__main__":
    main()
