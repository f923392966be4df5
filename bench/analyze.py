"""Analysis benchmark: rollups and analysis for 1,000 hosts × 8 GPUs × 14 days, on PostgreSQL.

Seeds a fresh database with 14 days of hourly rollups (what the rollup task has
built by then) and the last hour of raw samples at the agent's default 5 s, then
times, in this process:

  1. the rollup of that hour: raw → 5 min → 1 h (the work beat's rollup task does per hour),
  2. the analysis over the 14-day window: every rule, then the recommendations written.

    python bench/analyze.py --hosts 1000 --gpus 8 --days 14
    python bench/analyze.py --hosts 10000 --analysis-only --database rs_an_10k   # no raw hour, no rollup step
    python bench/analyze.py --database rs_an_10k --reuse                         # time the analysis again

Prints seconds per step and the process's peak memory (ru_maxrss). The target is
under 60 s in all with memory bounded: the analysis sums rollups in SQL and reads
per-hour rows one chunk of hosts at a time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GIB = 1024**3


from fresh_db import setup_fresh_database, use_database  # noqa: E402 — bench/ is the script's own folder, first on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--database", default="rightsizer_bench_analyze")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL, no database")
    parser.add_argument(
        "--analysis-only",
        action="store_true",
        help="seed no raw hour, time the analysis alone (10,000 hosts' raw hour is 58 M rows)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the analysis again on a database this script seeded (nothing seeded, no rollup)",
    )
    args = parser.parse_args()

    if args.reuse:
        use_database(args.server, args.database)
        from telemetry.models import RollupCursor

        hour = RollupCursor.objects.get(tier="1h").until  # the seeded hourly rows end there
        report(args, hour + timedelta(minutes=10), hour, rollup=False)
        return
    setup_fresh_database(args.server, args.database)
    now = datetime.now(tz=UTC).replace(minute=10, second=0, microsecond=0)
    hour = now.replace(minute=0) - timedelta(hours=1)  # the hour whose raw samples are rolled up
    t = time.monotonic()
    seed(args.hosts, args.gpus, args.days, hour, raw=not args.analysis_only)
    what = "" if args.analysis_only else " and one hour of 5-s samples"
    print(f"seeded {args.hosts} hosts × {args.gpus} GPUs: {args.days} days of hourly rollups{what} "
          f"in {time.monotonic() - t:.0f} s")  # fmt: skip
    # Without the raw hour, the window ends where the seeded hourly rows end.
    report(args, hour + timedelta(minutes=10) if args.analysis_only else now, hour, rollup=not args.analysis_only)


def seed(hosts: int, gpus: int, days: int, hour: datetime, raw: bool = True) -> None:
    from django.db import connection

    from telemetry.histogram import BUCKETS
    from telemetry.models import Gpu, Host, InferenceServer, RollupCursor
    from telemetry.models.rollups import histogram_fields

    models = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct"]
    # Ten hosts a deployment at any count: the advice is one plan per deployment, so a fixed number of
    # deployments would keep the findings (and the planning work) flat while the hosts grow. Host h and its
    # pk (h + 1 in the fresh database) agree mod 10, so each deployment holds one load archetype.
    deps = max(1, hosts // 10)
    Host.objects.bulk_create(
        Host(machine_id=f"bench-{h:05d}", hostname=f"bench-{h:05d}", cpu_count=96, mem_total_bytes=1024 * GIB,
             labels={"deployment": f"dep-{h % deps}"}, deployment=f"dep-{h % deps}", last_seen=hour)
        for h in range(hosts)
    )  # fmt: skip
    host_ids = list(Host.objects.order_by("pk").values_list("pk", flat=True))
    Gpu.objects.bulk_create(
        Gpu(uuid=f"GPU-{h:05d}-{g}", host_id=hid, index=g, name="NVIDIA A100-SXM4-80GB", memory_total_bytes=80 * GIB,
            power_limit_w=400.0) for h, hid in enumerate(host_ids) for g in range(gpus)
    )  # fmt: skip
    servers = InferenceServer.objects.bulk_create(
        InferenceServer(host_id=hid, server_id="vllm:8000", kind="vllm", model=models[h % 3], dtype="bfloat16",
                        tensor_parallel=gpus, max_batch_size=256) for h, hid in enumerate(host_ids)
    )  # fmt: skip
    through = InferenceServer.gpus.through
    gpu_rows = Gpu.objects.values_list("pk", "host_id")
    by_host = {s.host_id: s.pk for s in servers}
    through.objects.bulk_create(through(inferenceserver_id=by_host[hid], gpu_id=gid) for gid, hid in gpu_rows)

    # Load per host: one in ten idle, three in ten oversized, the rest busy by day.
    util = ("CASE WHEN {e} %% 10 = 0 THEN 0.5 WHEN {e} %% 10 < 4 THEN 8 + 4 * {d} "
            "ELSE 20 + 50 * {d} END")  # fmt: skip
    diurnal = "GREATEST(0, sin(pi() * (extract(hour FROM t) - 6) / 14))"

    def hist(prefix: str, value: str) -> tuple[str, str]:
        cols = histogram_fields(prefix)
        exprs = []
        for (lo, hi), _ in zip(BUCKETS, cols, strict=True):
            upper = "" if hi >= 100 else f" AND ({value}) < {hi}"
            exprs.append(f"CASE WHEN ({value}) >= {lo}{upper} THEN 3600 ELSE 0 END")
        return ", ".join(cols), ", ".join(exprs)

    start = hour - timedelta(days=days)
    span = "generate_series(%(start)s::timestamptz, %(end)s::timestamptz, '1 hour') t"
    params = {"start": start, "end": hour - timedelta(hours=1)}
    with connection.cursor() as cur:
        # The rows below reference ids just read from their parents: skip the per-row deferred foreign-key
        # checks (one trigger event per row, run at commit), which cost as much as the inserts at 1,000+ hosts.
        cur.execute("SET session_replication_role = replica")
        u = util.format(e="g.host_id", d=diurnal)
        cols, exprs = hist("util", u)
        cur.execute(
            f"INSERT INTO telemetry_gpurollup (gpu_id, period_s, ts, samples, covered_s, util_pct_mean, util_pct_max, "
            f"mem_used_bytes_mean, mem_used_bytes_max, power_w_mean, power_w_max, temp_c_max, {cols}) "
            f"SELECT g.id, 3600, t, 720, 3600, {u}, ({u}) + 5, 72e9, 72000000000, 80 + 3 * ({u}), 400, 60, {exprs} "
            f"FROM telemetry_gpu g CROSS JOIN {span}", params)  # fmt: skip
        cols, exprs = hist("cpu", "10 + 10 * " + diurnal)
        cur.execute(
            f"INSERT INTO telemetry_hostrollup (host_id, period_s, ts, samples, covered_s, cpu_pct_mean, cpu_pct_max, "
            f"mem_used_bytes_mean, mem_used_bytes_max, {cols}) SELECT h.id, 3600, t, 720, 3600, 10 + 10 * {diurnal}, "
            f"25, 300e9, 300000000000, {exprs} FROM telemetry_host h CROSS JOIN {span}", params)  # fmt: skip
        kv = util.format(e="s.host_id", d=diurnal)
        cols, exprs = hist("kv", kv)
        served = "(CASE WHEN s.host_id %% 10 = 0 THEN 0 ELSE 1 END)"  # the idle archetype serves no request
        cur.execute(
            f"INSERT INTO telemetry_serverrollup (server_id, period_s, ts, samples, covered_s, running_mean, "
            f"running_max, waiting_mean, waiting_max, kv_cache_pct_mean, kv_cache_pct_max, batch_size_mean, "
            f"preempted_sum, requests_ps_mean, requests_ps_max, gen_tps_mean, gen_tps_max, {cols}) "
            f"SELECT s.id, 3600, t, 720, 3600, {served} * {kv} / 5, {served} * {kv} / 4, 0, 0, {kv}, ({kv}) + 5, "
            f"{served} * {kv} / 5, 0, {served} * ({kv}) / 10, {served} * ({kv}) / 8, {served} * ({kv}) * 10, "
            f"{served} * ({kv}) * 12, {exprs} "
            f"FROM telemetry_inferenceserver s CROSS JOIN {span}", params)  # fmt: skip
        if raw:
            _seed_raw_hour(cur, hour, util, diurnal, served)
        cur.execute("RESET session_replication_role")
        cur.execute("ANALYZE")
    for tier in ("5m", "1h"):
        RollupCursor.objects.update_or_create(tier=tier, defaults={"until": hour})


def _seed_raw_hour(cur, hour: datetime, util: str, diurnal: str, served: str) -> None:
    raw = "generate_series(%(hour)s::timestamptz, %(hour)s::timestamptz + interval '3595 seconds', '5 seconds') t"
    p = {"hour": hour}
    u = util.format(e="g.host_id", d=diurnal) + " + random()"
    cur.execute(f"INSERT INTO telemetry_gpusample (gpu_id, ts, util_pct, mem_used_bytes, power_w, temp_c) "
                f"SELECT g.id, t, {u}, 72000000000, 200, 60 FROM telemetry_gpu g CROSS JOIN {raw}", p)  # fmt: skip
    cur.execute(f"INSERT INTO telemetry_hostsample (host_id, ts, cpu_pct, mem_used_bytes, net_rx_bps, net_tx_bps) "
                f"SELECT h.id, t, 15 + random(), 300000000000, 1e6, 1e5 FROM telemetry_host h CROSS JOIN {raw}",
                p)  # fmt: skip
    cur.execute(f"INSERT INTO telemetry_serversample (server_id, ts, running, waiting, kv_cache_pct, batch_size, "
                f"preempted, prompt_tps, gen_tps, requests_ps) SELECT s.id, t, 10 * {served}, 0, 30, "
                f"10 * {served}, 0, 1000 * {served}, 300 * {served}, 2 * {served} "
                f"FROM telemetry_inferenceserver s CROSS JOIN {raw}", p)  # fmt: skip


def report(args, now: datetime, hour: datetime, rollup: bool = True) -> None:
    from django.db import connection
    from django.db.models import Count

    from recommender.models import Recommendation
    from recommender.tasks import run_analysis
    from telemetry.rollups import run_rollups

    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM telemetry_host), (SELECT count(*) FROM telemetry_gpusample), "
                    "(SELECT count(*) FROM telemetry_gpurollup)")  # fmt: skip
        hosts, raw_rows, rollup_rows = cur.fetchone()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rollup_s = 0.0
    if rollup:
        t = time.monotonic()
        run_rollups(now=now)
        rollup_s = time.monotonic() - t
    t = time.monotonic()
    counts = run_analysis(now=now)
    analysis_s = time.monotonic() - t
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kinds = dict(Recommendation.objects.values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    print(f"{hosts:,} hosts; raw GPU samples: {raw_rows:,}; GPU rollup rows: {rollup_rows:,}")
    if rollup:
        print(f"rollup of the hour (raw → 5 min → 1 h): {rollup_s:.1f} s")
    print(f"analysis of {args.days} days ({counts['findings']} findings), recommendations written: {analysis_s:.1f} s")
    if rollup:
        print(f"total: {rollup_s + analysis_s:.1f} s (target < 60 s at 1,000 hosts)")
    print(f"peak RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after")
    print(f"recommendations by kind: {kinds}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
