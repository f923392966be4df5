"""Evidence charts drawn from each row's series reference, never from its wording."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard import evidence
from recommender.findings import evidence as evidence_row
from telemetry.models import Gpu, GpuRollup, HostRollup, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H
from tests.dashboard import recs

pytestmark = pytest.mark.django_db


def _hours(n: int) -> list:
    top = timezone.now().replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=n - i) for i in range(n)]


def _gpu_hours(gpu: Gpu, utils: list[float]) -> None:
    for ts, u in zip(_hours(len(utils)), utils, strict=True):
        GpuRollup.objects.create(
            gpu=gpu,
            period_s=PERIOD_1H,
            ts=ts,
            samples=720,
            covered_s=3600,
            util_pct_mean=u,
            util_pct_max=u + 10,
            mem_used_bytes_mean=40 * recs.GIB,
            mem_used_bytes_max=60 * recs.GIB,
        )


def test_a_gpu_row_reads_its_gpu_by_id_whatever_the_wording(as_admin):
    h = recs.host("node-a", "chat", gpus=2)
    g0, g1 = h.gpus.order_by("index")
    _gpu_hours(g0, [1.0, 2.0, 3.0])
    _gpu_hours(g1, [90.0, 91.0, 92.0])
    row = recs.util_evidence("gpu", g1.pk)
    row["metric"] = "a sentence no regex would know"
    mem = recs.util_evidence("gpu", g1.pk, "mem_used_pct")
    r = recs.rec("idle", "chat", target_host=h, evidence=[row, mem])
    util, used = evidence.items(r)
    assert util["series"]["mean"] == [90.0, 91.0, 92.0] and util["series"]["peak"] == [100.0, 101.0, 102.0]
    assert util["aggregate"] == "p95" and util["reported"] is True
    assert used["series"]["mean"] == [50.0] * 3 and used["series"]["peak"] == [75.0] * 3  # % of 80 GiB
    page = as_admin.get(f"/recommendations/{r.pk}/evidence.json").json()["items"]
    assert page[0]["series"]["mean"] == [90.0, 91.0, 92.0]


def test_host_and_server_rows_read_their_own_rollups(db):
    h = recs.host("node-b", "chat", gpus=1)
    server = InferenceServer.objects.create(host=h, server_id="vllm:8000", kind="vllm", model="m")
    for i, ts in enumerate(_hours(2)):
        HostRollup.objects.create(
            host=h,
            period_s=PERIOD_1H,
            ts=ts,
            samples=1,
            covered_s=3600,
            cpu_pct_mean=10.0 + i,
            cpu_pct_max=20.0,
            mem_used_bytes_mean=64 * recs.GIB,
            mem_used_bytes_max=128 * recs.GIB,
        )
        ServerRollup.objects.create(
            server=server,
            period_s=PERIOD_1H,
            ts=ts,
            samples=1,
            covered_s=3600,
            waiting_mean=3.0,
            waiting_max=9.0,
            preempted_sum=4.0 + i,
        )
    rows = [
        recs.util_evidence("host", h.pk, "cpu_pct"),
        recs.util_evidence("host", h.pk, "mem_used_pct"),
        recs.util_evidence("server", server.pk, "waiting"),
        recs.util_evidence("server", server.pk, "preempted"),
    ]
    cpu, mem, waiting, preempted = evidence.items(recs.rec("saturation", "chat", target_host=h, evidence=rows))
    assert cpu["series"]["mean"] == [10.0, 11.0] and cpu["series"]["peak"] == [20.0, 20.0]
    assert mem["series"]["peak"] == [50.0, 50.0]  # 128 of 256 GiB
    assert waiting["series"]["mean"] == [3.0, 3.0] and waiting["series"]["peak"] == [9.0, 9.0]
    assert preempted["series"]["total"] == [4.0, 5.0]


def test_deployment_load_sums_every_gpu_of_the_deployments_hosts(db):
    a = recs.host("node-c", "chat", gpus=2)
    b = recs.host("node-d", "chat", gpus=1)
    other = recs.host("node-e", "batch", gpus=1)
    for g in [*a.gpus.all(), *b.gpus.all(), *other.gpus.all()]:
        _gpu_hours(g, [10.0, 20.0])
    row = recs.util_evidence("deployment", "chat", "util_pct_sum")
    [item] = evidence.items(recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED, evidence=[row]))
    assert item["series"]["mean"] == [30.0, 60.0]  # three GPUs of chat; batch's GPU left out


def test_an_unreported_value_has_no_series_and_rows_without_a_reference_draw_a_bar(as_admin):
    h = recs.host("node-f", "chat", gpus=1)
    unreported = evidence_row("KV cache use", "p95", None, 80.0, "%", 86400, 86400, None, reported=False)
    weights = evidence_row("model weights", "bytes", 16.0, 80.0, "GiB", 86400, 86400, None)
    legacy = {"metric": "GPU 0 utilization", "statistic": "p95", "value": 3.0, "threshold": 5.0, "unit": "%"}
    missing = recs.util_evidence("gpu", 999999)
    r = recs.rec("batching", "chat", target_host=h, evidence=[unreported, weights, legacy, missing])
    kv, w, old, gone = evidence.items(r)
    assert kv["reported"] is False and kv["value"] is None and kv["series"] is None
    assert w["reported"] is True and w["series"] is None and w["value"] == 16.0
    assert old["series"] is None  # no reference, no guessing from the wording
    assert gone["series"] == {"t": [], "mean": [], "peak": []}
    page = as_admin.get(f"/recommendations/{r.pk}/").content.decode()
    assert "not reported" in page


def test_a_threshold_reads_with_its_unit_and_what_it_means(as_admin):
    note = "what 2 replicas × 1 GPU carry at the 70% target (2 × 70 GPU-%)"
    row = evidence_row("deployment GPU load (Σ utilization)", "p95 of hourly means", 72.87, 140.0, "GPU-%", 86400,
                       86400, None, threshold_note=note)  # fmt: skip
    r = recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED, evidence=[row])
    page = as_admin.get(f"/recommendations/{r.pk}/").content.decode()
    assert f'<br><span class="muted small">{note}</span></td>' in page and "140.00 GPU-%" in page
    assert evidence.items(r)[0]["threshold_note"] == note
