"""/metrics: what Prometheus reads, parsed by prometheus_client's own parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dashboard import fleet
from recommender.models import HostSummary
from recommender.tasks import summarize_fleet
from rightsizer.models import TaskRun
from telemetry.models import Gpu, Host, RollupCursor
from tests.batches import batch, post
from tests.dashboard.recs import QUANTIZED, SCALED, TODAY, host, rec

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample as {(name, sorted labels): value}, through the Prometheus text parser."""
    resp = client.get("/metrics", **headers)
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(resp.content.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_ingest_answers_are_counted_by_outcome_reason_and_rows(client, agent_token):
    before = scrape(client)
    payload = batch(n_samples=3)
    assert post(client, agent_token[1], payload).status_code == 202
    assert post(client, agent_token[1], payload).status_code == 202  # the same three: duplicates
    assert post(client, "rsa_wrong", payload).status_code == 401
    assert post(client, agent_token[1], b"").status_code == 400
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("rightsizer_ingest_requests_total", outcome="accepted") == 2
    assert delta("rightsizer_ingest_requests_total", outcome="refused") == 2
    assert delta("rightsizer_ingest_refused_total", reason="unknown_token", status="401") == 1
    assert delta("rightsizer_ingest_refused_total", reason="malformed", status="400") == 1
    assert delta("rightsizer_ingest_rows_total", outcome="stored") == 3
    assert delta("rightsizer_ingest_rows_total", outcome="duplicate") == 3
    assert delta("rightsizer_ingest_duration_seconds_count") == 4
    assert delta("rightsizer_ingest_duration_seconds_bucket", le="+Inf") == 4


def test_the_spool_an_agent_reports_is_shown_per_host_only_from_accepted_pushes(client, agent_token):
    header = {"HTTP_RIGHTSIZER_AGENT_SPOOL": "host=gpu-node-7&waiting=3&dropped=12&failed=1&rejected=2"}
    assert post(client, agent_token[1], batch(), **header).status_code == 202
    forged = {"HTTP_RIGHTSIZER_AGENT_SPOOL": "host=forged&waiting=9"}
    assert post(client, "rsa_wrong", batch(), **forged).status_code == 401
    samples = scrape(client)
    spool = "rightsizer_agent_spool_batches"
    assert value(samples, spool, host="gpu-node-7", state="waiting") == 3
    assert value(samples, spool, host="gpu-node-7", state="dropped") == 12
    assert value(samples, spool, host="gpu-node-7", state="failed") == 1
    assert value(samples, spool, host="gpu-node-7", state="rejected") == 2
    assert not any(labels and ("host", "forged") in labels for _, labels in samples)


def test_fleet_state_hosts_gpus_advice_money_and_beat_lag(client):
    now = timezone.now()
    busy = host("busy-1", "chat", gpus=2, usd_month=14600.0)
    idle = host("idle-1", "chat", gpus=1, usd_month=7300.0)
    HostSummary.objects.filter(host=idle).update(idle_gpus=1)
    gone = host("gone-1", "batch", gpus=1)
    Host.objects.filter(pk=gone.pk).update(last_seen=now - timedelta(hours=2))
    Gpu.objects.filter(host=busy, index=1).update(active=False)
    rec("scale_down", "chat", step=1, current=TODAY, proposed=SCALED)
    rec("quantize", "chat", step=2, current=SCALED, proposed=QUANTIZED)
    rec("idle", "batch", target_host=gone, status="dismissed")
    TaskRun.objects.create(task="telemetry.tasks.roll_up", last_success_at=now - timedelta(seconds=90))
    RollupCursor.objects.create(tier="5m", until=now - timedelta(minutes=8))

    samples = scrape(client)
    assert value(samples, "rightsizer_hosts", state="online") == 2
    assert value(samples, "rightsizer_hosts", state="offline") == 1
    assert value(samples, "rightsizer_gpus", state="busy") == 1
    assert value(samples, "rightsizer_gpus", state="idle") == 1
    assert value(samples, "rightsizer_gpus", state="offline") == 1
    assert value(samples, "rightsizer_gpus", state="inactive") == 1
    assert value(samples, "rightsizer_recommendations_open", kind="scale_down") == 1
    assert value(samples, "rightsizer_recommendations_open", kind="quantize") == 1
    assert value(samples, "rightsizer_recommendations_open", kind="idle") == 0  # dismissed
    page = fleet.totals()
    assert value(samples, "rightsizer_potential_saving_usd_month") == page.saving_usd_month > 0
    assert value(samples, "rightsizer_fleet_cost_usd_month") == page.usd_month == 21900.0
    age = value(samples, "rightsizer_task_last_success_age_seconds", beat_job="rollup", task="telemetry.tasks.roll_up")
    assert 90 <= age < 150
    assert (
        "rightsizer_task_last_success_age_seconds",
        (("beat_job", "analysis"), ("task", "recommender.tasks.analyze")),
    ) not in samples  # never ran: absent, not 0
    assert 480 <= value(samples, "rightsizer_rollup_lag_seconds") < 540


@shared_task(name="tests.metrics_boom")
def boom() -> None:
    raise RuntimeError("boom")


def test_task_runs_failures_and_durations_come_from_the_task_signals(client):
    before = scrape(client)
    summarize_fleet.apply()
    boom.apply()
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("rightsizer_task_runs_total", task="recommender.tasks.summarize_fleet") == 1
    assert delta("rightsizer_task_duration_seconds_count", task="recommender.tasks.summarize_fleet") == 1
    assert delta("rightsizer_task_failures_total", task="recommender.tasks.summarize_fleet") == 0
    assert delta("rightsizer_task_runs_total", task="tests.metrics_boom") == 1
    assert delta("rightsizer_task_failures_total", task="tests.metrics_boom") == 1
    ok = TaskRun.objects.get(task="recommender.tasks.summarize_fleet")
    assert ok.last_success_at and ok.last_failure_at is None and ok.last_duration_s is not None
    failed = TaskRun.objects.get(task="tests.metrics_boom")
    assert failed.last_failure_at and failed.last_success_at is None
    age = value(after, "rightsizer_task_last_success_age_seconds", beat_job="summary",
                task="recommender.tasks.summarize_fleet")  # fmt: skip
    assert 0 <= age < 30


def test_a_scrape_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    resp = client.get("/metrics")
    assert resp.status_code == 401 and resp["WWW-Authenticate"].startswith("Bearer")
    assert b"RIGHTSIZER_METRICS_TOKEN" in resp.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    scrape(client, HTTP_AUTHORIZATION="Bearer scrape-secret")


def test_the_grafana_dashboard_reads_only_metrics_that_exist(client):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy/grafana/rightsizer.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"rightsizer_\w+", e)}
    families = {f.name for f in text_string_to_metric_families(client.get("/metrics").content.decode())}
    assert used and used <= families, used - families
