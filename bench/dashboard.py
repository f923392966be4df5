"""Dashboard benchmark: the fleet page and a host's chart data with 1,000 hosts × 8 GPUs × 30 days, on PostgreSQL.

Seeds a fresh database with 30 days of hourly rollups per host, GPU and server, the last
day of 5-minute rollups and the last hour of raw samples for one host, and open
recommendations; then times, in this process, through Django's full request stack
(middleware, session, auth, templates):

  1. the summary job (the fleet page's per-host figures, every 5 minutes);
  2. the fleet page, the recommendations page and the host page;
  3. the chart JSON of one host (8 GPUs, one server) for 1 h, 24 h, 7 d and 30 d;
  4. the queries per page with 100 hosts and with all of them (must not grow).

    python bench/dashboard.py --hosts 1000 --gpus 8 --days 30

Targets: fleet page under 500 ms, a 30-day chart endpoint under 150 ms, queries per page
constant in the number of hosts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GIB = 1024**3
HOST = "localhost"


from fresh_db import setup_fresh_database  # noqa: E402 — bench/ is the script's own folder, first on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20, help="requests per measured URL")
    parser.add_argument("--database", default="rightsizer_bench_dashboard")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL, no database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the pages again on the database an earlier run seeded (migrated, not reseeded)",
    )
    args = parser.parse_args()

    if args.reuse:
        reuse_database(args)
        report(args, login(), None, min(100, args.hosts))
        return
    setup_fresh_database(args.server, args.database)
    now = datetime.now(tz=UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    small = min(100, args.hosts)
    t = time.monotonic()
    seed(0, small, args.gpus, args.days, hour)
    print(f"seeded {small} hosts in {time.monotonic() - t:.0f} s")
    client = login()
    few = queries_per_page(client)
    t = time.monotonic()
    seed(small, args.hosts - small, args.gpus, args.days, hour)
    seed_detail(hour)
    print(f"seeded {args.hosts} hosts × {args.gpus} GPUs × {args.days} days of hourly rollups in all "
          f"(+{time.monotonic() - t:.0f} s)")  # fmt: skip
    t = time.monotonic()
    from dashboard import deployment_rollup

    deployment_rollup.backfill(args.days + 1)  # what the rollup job writes beside each period it rolls
    print(f"deployment rollups summed from them in {time.monotonic() - t:.0f} s")
    report(args, client, few, small)


def reuse_database(args) -> None:
    """Point Django at an earlier run's database: seeding 4,000 hosts takes minutes, a second timing should not."""
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rightsizer.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from telemetry.models import Host

    call_command("migrate", verbosity=0)
    found = Host.objects.count()
    if found != args.hosts:
        sys.exit(f"{args.database} holds {found} hosts, not --hosts {args.hosts}: run once without --reuse")
    from dashboard import deployment_rollup
    from dashboard.models import DeploymentRollup

    if not DeploymentRollup.objects.exists():  # seeded before the deployment chart had its own rollup
        deployment_rollup.backfill(args.days + 1)


def seed(first: int, count: int, gpus: int, days: int, hour: datetime) -> None:
    """Hosts first..first+count, their GPUs and a vLLM server each, and `days` of hourly rollups for them."""
    from django.db import connection

    from recommender.models import Recommendation
    from telemetry.models import Gpu, Host, InferenceServer
    from telemetry.models.rollups import histogram_fields

    if count <= 0:
        return
    names = ["NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA L4"]
    models = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct"]
    hosts = Host.objects.bulk_create(
        Host(machine_id=f"bench-{h:05d}", hostname=f"bench-{h:05d}", cpu_count=96, mem_total_bytes=1024 * GIB,
             labels={"deployment": f"dep-{h % 50}", "team": f"t{h % 7}"}, deployment=f"dep-{h % 50}",
             last_seen=hour - timedelta(seconds=30 * (h % 20)))
        for h in range(first, first + count)
    )  # fmt: skip
    Gpu.objects.bulk_create(
        Gpu(uuid=f"GPU-{h.hostname}-{g}", host=h, index=g, name=names[i % 3],
            memory_total_bytes=(24 if i % 3 == 2 else 80) * GIB, power_limit_w=400.0)
        for i, h in enumerate(hosts, start=first) for g in range(gpus)
    )  # fmt: skip
    servers = InferenceServer.objects.bulk_create(
        InferenceServer(host=h, server_id="vllm:8000", kind="vllm", model=models[i % 3], dtype="bfloat16",
                        tensor_parallel=gpus, max_batch_size=256) for i, h in enumerate(hosts, start=first)
    )  # fmt: skip
    through = InferenceServer.gpus.through
    by_host = {s.host_id: s.pk for s in servers}
    gpu_rows = Gpu.objects.filter(host_id__in=by_host).values_list("pk", "host_id")
    through.objects.bulk_create(through(inferenceserver_id=by_host[hid], gpu_id=gid) for gid, hid in gpu_rows)
    Recommendation.objects.bulk_create(
        Recommendation(kind="idle", target_type="host", target_key=f"host:{h.machine_id}", target_label=h.hostname,
                       deployment=h.deployment, host=h, title=f"{h.hostname} is idle", reason="bench",
                       saving_usd_month=100.0 + i, confidence=0.8)
        for i, h in enumerate(hosts, start=first) if i % 4 == 0
    )  # fmt: skip

    ids = [h.pk for h in hosts]
    span = "generate_series(%(start)s::timestamptz, %(end)s::timestamptz, '1 hour') t"
    params = {"start": hour - timedelta(days=days), "end": hour - timedelta(hours=1), "ids": ids}
    diurnal = "GREATEST(0, sin(pi() * (extract(hour FROM t) - 6) / 14))"
    util = f"(CASE WHEN g.host_id %% 10 = 0 THEN 0.5 ELSE 10 + 60 * {diurnal} END)"

    def zeros(prefix: str) -> tuple[str, str]:  # the dashboard reads no histogram: keep them cheap to write
        cols = histogram_fields(prefix)
        return ", ".join(cols), ", ".join(["0"] * len(cols))

    with connection.cursor() as cur:
        # The rows reference ids just created: skip the per-row deferred foreign-key checks run at commit.
        cur.execute("SET session_replication_role = replica")
        cols, vals = zeros("util")
        cur.execute(
            f"INSERT INTO telemetry_gpurollup (gpu_id, period_s, ts, samples, covered_s, util_pct_mean, util_pct_max, "
            f"mem_used_bytes_mean, mem_used_bytes_max, power_w_mean, power_w_max, temp_c_max, {cols}) "
            f"SELECT g.id, 3600, t, 720, 3600, {util}, {util} + 5, 60e9, 60000000000, 80 + 3 * {util}, 400, 60, {vals} "
            f"FROM telemetry_gpu g CROSS JOIN {span} WHERE g.host_id = ANY(%(ids)s)", params)  # fmt: skip
        cols, vals = zeros("cpu")
        cur.execute(
            f"INSERT INTO telemetry_hostrollup (host_id, period_s, ts, samples, covered_s, cpu_pct_mean, cpu_pct_max, "
            f"mem_used_bytes_mean, mem_used_bytes_max, net_rx_bps_mean, net_rx_bps_max, net_tx_bps_mean, "
            f"net_tx_bps_max, {cols}) SELECT h.id, 3600, t, 720, 3600, 10 + 10 * {diurnal}, 25, 300e9, 300000000000, "
            f"1e6, 2e6, 1e5, 2e5, {vals} FROM telemetry_host h CROSS JOIN {span} WHERE h.id = ANY(%(ids)s)",
            params)  # fmt: skip
        cols, vals = zeros("kv")
        cur.execute(
            f"INSERT INTO telemetry_serverrollup (server_id, period_s, ts, samples, covered_s, running_mean, "
            f"running_max, waiting_mean, waiting_max, kv_cache_pct_mean, kv_cache_pct_max, batch_size_mean, "
            f"preempted_sum, prompt_tps_mean, gen_tps_mean, gen_tps_max, requests_ps_mean, {cols}) "
            f"SELECT s.id, 3600, t, 720, 3600, 10 * {diurnal}, 12, 0, 1, 40 * {diurnal}, 50, 8, 0, 900 * {diurnal}, "
            f"300 * {diurnal}, 400, 2, {vals} FROM telemetry_inferenceserver s CROSS JOIN {span} "
            f"WHERE s.host_id = ANY(%(ids)s)", params)  # fmt: skip
        cur.execute("RESET session_replication_role")
        cur.execute("ANALYZE")


def seed_detail(hour: datetime) -> None:
    """The measured host also gets a day of 5-minute rollups and an hour of 5-s samples (the 24 h and 1 h charts)."""
    from django.db import connection

    from telemetry.models import Host
    from telemetry.models.rollups import histogram_fields

    host = Host.objects.order_by("pk").first()
    p = {"host": host.pk, "start": hour - timedelta(days=1), "end": hour + timedelta(minutes=55), "now": hour}
    five = "generate_series(%(start)s::timestamptz, %(end)s::timestamptz, '5 minutes') t"
    raw = "generate_series(%(now)s::timestamptz - interval '1 hour', %(now)s::timestamptz, '5 seconds') t"
    util = histogram_fields("util")
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO telemetry_gpurollup (gpu_id, period_s, ts, samples, covered_s, util_pct_mean, util_pct_max, "
            f"mem_used_bytes_mean, mem_used_bytes_max, power_w_mean, power_w_max, temp_c_max, {', '.join(util)}) "
            f"SELECT g.id, 300, t, 60, 300, 40 + 20 * random(), 90, 60e9, 60000000000, 200, 300, 60, "
            f"{', '.join(['0'] * len(util))} FROM telemetry_gpu g CROSS JOIN {five} "
            f"WHERE g.host_id = %(host)s", p)  # fmt: skip
        cur.execute(f"INSERT INTO telemetry_gpusample (gpu_id, ts, util_pct, mem_used_bytes, power_w, temp_c) "
                    f"SELECT g.id, t, 40 + random(), 60000000000, 200, 60 FROM telemetry_gpu g CROSS JOIN {raw} "
                    f"WHERE g.host_id = %(host)s", p)  # fmt: skip
        cur.execute(f"INSERT INTO telemetry_hostsample (host_id, ts, cpu_pct, mem_used_bytes, net_rx_bps, net_tx_bps) "
                    f"SELECT %(host)s, t, 15 + random(), 300000000000, 1e6, 1e5 FROM {raw}", p)  # fmt: skip
        fill_every_metric(cur, p)
        cur.execute("ANALYZE")


def fill_every_metric(cur, p: dict) -> None:
    """The measured host's rows get a value in every registry column the seed leaves empty (load, disk,
    swap, memory bandwidth, SM clock, energy, queue time…), so its chart JSON carries every metric."""
    from telemetry import registry
    from telemetry.models import GpuSample, HostSample
    from telemetry.models.rollups import ENTITY_ROLLUPS

    owner = {"host": "host_id = %(host)s",
             "gpu": "gpu_id IN (SELECT id FROM telemetry_gpu WHERE host_id = %(host)s)",
             "server": "server_id IN (SELECT id FROM telemetry_inferenceserver WHERE host_id = %(host)s)"}  # fmt: skip
    for entity, model in ENTITY_ROLLUPS.items():
        cols = [m.rollup_column(a) for m in registry.of(entity) for a in m.aggregates]
        sets = ", ".join(f"{c} = COALESCE({c}, 1 + 50 * random())" for c in cols)
        cur.execute(f"UPDATE {model._meta.db_table} SET {sets} WHERE {owner[entity]}", p)
    for entity, model in (("host", HostSample), ("gpu", GpuSample)):
        sets = ", ".join(f"{m.column} = COALESCE({m.column}, 1 + 50 * random())" for m in registry.of(entity))
        cur.execute(f"UPDATE {model._meta.db_table} SET {sets} WHERE {owner[entity]}", p)


def login():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.filter(username="bench").first()
    user = user or get_user_model().objects.create_superuser("bench", "", "bench-pass-123")
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    return client


def timed(client, url: str, repeat: int) -> tuple[float, float, int]:
    """Median and worst milliseconds over `repeat` requests (after one warm-up), and the response size."""
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.content[:300])
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        resp = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200
    return statistics.median(times), max(times), len(resp.content)


def queries_per_page(client) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recommender.summary import summarize
    from telemetry.models import Host

    summarize()
    host = Host.objects.order_by("pk").first()
    out = {}
    for url in (
        "/",
        "/recommendations/",
        "/deployments/",
        "/deployments/dep-7/",
        f"/hosts/{host.pk}/",
        f"/hosts/{host.pk}/series.json?range=30d",
    ):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        out[url] = len(ctx.captured_queries)
    return out


def report(args, client, few: dict[str, int] | None, small: int) -> None:
    from django.db import connection

    from recommender.summary import summarize
    from telemetry.models import Host

    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM telemetry_gpurollup), (SELECT count(*) FROM telemetry_hostrollup)")
        gpu_rows, host_rows = cur.fetchone()
    print(f"GPU rollup rows: {gpu_rows:,}; host rollup rows: {host_rows:,}")
    t = time.monotonic()
    count = summarize()
    print(f"summary job (every 5 min) for {count} hosts: {time.monotonic() - t:.2f} s")
    many = queries_per_page(client)
    print(f"\nqueries per page, {small} hosts → {args.hosts} hosts:" if few else "\nqueries per page:")
    for url, n in many.items():
        before = few or many
        print(f"  {url:<40} {before[url]:>3} → {n:>3}{'' if n == before[url] else '   GROWS'}")
    host = Host.objects.order_by("pk").first()
    print(f"\nmilliseconds over {args.repeat} requests (median / worst), response size:")
    rows = [("fleet page (/), target < 500 ms", "/"), ("fleet page sorted by cost", "/?sort=-cost"),
            ("fleet page filtered (deployment)", "/?deployment=dep-7"), ("recommendations", "/recommendations/"),
            ("deployments list", "/deployments/"),
            ("deployment page", "/deployments/dep-7/"), ("host page (HTML)", f"/hosts/{host.pk}/")]  # fmt: skip
    for r in ("1h", "24h", "7d", "30d"):
        target = ", target < 150 ms" if r == "30d" else ""
        rows.append((f"host chart JSON {r}{target}", f"/hosts/{host.pk}/series.json?range={r}"))
    rows.append(("deployment chart JSON 30d", "/deployments/dep-7/series.json?range=30d"))
    for label, url in rows:
        median, worst, size = timed(client, url, args.repeat)
        print(f"  {label:<44} {median:7.1f} / {worst:7.1f}   {size / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
