"""GET /api/v1/hosts and /api/v1/recommendations: session or personal token, never an agent token."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.models import Recommendation
from telemetry.models import ApiToken, Host
from tests.batches import batch, gpu_info, post
from tests.recommender import history

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(client, agent_token):
    for i in range(3):
        gpus = [gpu_info(uuid=f"GPU-{i}-{j}", index=j) for j in range(2)]
        post(client, agent_token[1], batch(machine_id=f"m{i}", hostname=f"node-{i}", gpus=gpus,
                                           labels={"deployment": "chat" if i < 2 else "batch"}))  # fmt: skip
    hosts = list(Host.objects.order_by("hostname"))
    for i, (kind, status, saving) in enumerate([("idle", "open", 900.0), ("batching", "acknowledged", 0.0),
                                                ("host_rightsize", "dismissed", 50.0)]):  # fmt: skip
        Recommendation.objects.create(kind=kind, status=status, target_type="host", target_key=f"host:m{i}",
                                      target_label=hosts[i].hostname, deployment=hosts[i].deployment, host=hosts[i],
                                      title=f"{kind} on {hosts[i]}", reason="because", confidence=0.8,
                                      saving_usd_month=saving, evidence=[{"metric": "x"}])  # fmt: skip
    return hosts


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_personal_token_reads_hosts(client, fleet, viewer):
    _, raw = ApiToken.issue(viewer, "script")
    client.logout()
    resp = client.get("/api/v1/hosts", **_bearer(raw))
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["count"] == 3
    first = body["items"][0]
    assert first["hostname"] == "node-0" and first["deployment"] == "chat" and first["online"] is True
    assert [g["uuid"] for g in first["gpus"]] == ["GPU-0-0", "GPU-0-1"]
    assert first["servers"][0]["id"] == "vllm:8000" and first["open_recommendations"] == 1
    assert client.get("/api/v1/hosts?deployment=batch", **_bearer(raw)).json()["count"] == 1
    assert ApiToken.objects.get().last_used_at is not None


def test_hosts_cost_the_same_queries_for_any_number_of_hosts(client, fleet, viewer, agent_token):
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as three:
        client.get("/api/v1/hosts")
    for i in range(3, 8):
        post(client, agent_token[1], batch(machine_id=f"m{i}", hostname=f"node-{i}", gpus=[gpu_info(f"GPU-m{i}")]))
    with CaptureQueriesContext(connection) as eight:
        assert client.get("/api/v1/hosts").json()["count"] == 8
    assert len(eight) == len(three)


def test_recommendations_filter_and_sort(client, fleet, viewer):
    client.force_login(viewer)
    items = client.get("/api/v1/recommendations").json()["items"]
    assert [r["kind"] for r in items] == ["idle", "batching"]  # undecided ones, largest saving first
    assert items[0]["saving"]["usd_month"] == 900.0 and items[0]["host"] == "node-0"
    assert client.get("/api/v1/recommendations?status=dismissed").json()["items"][0]["kind"] == "host_rightsize"
    assert client.get("/api/v1/recommendations?kind=batching").json()["count"] == 1
    assert client.get("/api/v1/recommendations?deployment=chat").json()["count"] == 2
    assert client.get("/api/v1/recommendations?host=node-1").json()["items"][0]["kind"] == "batching"
    assert client.get("/api/v1/recommendations?host=m0").json()["items"][0]["kind"] == "idle"


def test_a_bad_filter_says_which(client, fleet, viewer):
    client.force_login(viewer)
    resp = client.get("/api/v1/recommendations?kind=cheaper&status=maybe")
    assert resp.status_code == 422
    fields = {tuple(e["loc"]) for e in resp.json()["detail"]}
    assert fields == {("query", "kind"), ("query", "status")}


@pytest.mark.parametrize("path", ["/api/v1/hosts", "/api/v1/recommendations"])
def test_no_session_no_token_is_refused(client, path):
    resp = client.get(path)
    assert resp.status_code == 401


def test_an_agent_token_cannot_read(client, agent_token):
    resp = client.get("/api/v1/hosts", **_bearer(agent_token[1]))
    assert resp.status_code == 403
    assert "can only push" in resp.json()["detail"]


def test_a_personal_token_cannot_ingest(client, viewer):
    _, raw = ApiToken.issue(viewer, "script")
    resp = post(client, raw, batch())
    assert resp.status_code == 401 and Host.objects.count() == 0


def test_a_revoked_token_is_refused_with_the_fix(client, viewer):
    token, raw = ApiToken.issue(viewer, "script")
    token.revoke()
    resp = client.get("/api/v1/hosts", **_bearer(raw))
    assert resp.status_code == 401 and "revoked" in resp.json()["detail"]
    assert "create_api_token" in resp.json()["detail"]


def test_create_api_token_command(viewer, client):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "viewer", "--name", "cron", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("rsp_") and "not shown again" in err.getvalue()
    token = ApiToken.objects.get()
    assert token.user == viewer and token.name == "cron" and raw not in token.token_hash
    assert client.get("/api/v1/recommendations", **_bearer(raw)).status_code == 200
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("create_api_token", "ghost")


def test_the_schema_lists_the_read_api(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/hosts", "/api/v1/recommendations"} <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/api/v1/recommendations"]["get"]["parameters"]}
    assert {"status", "kind", "deployment", "host", "limit", "offset"} <= params


def test_one_recommendation_says_what_acting_on_it_realized(client, viewer):
    h1, _ = history.chat_deployment()  # 4 H100s until the acknowledgement, 2 after (tests/recommender/history)
    rec = Recommendation.objects.create(kind="scale_down", status="acknowledged", target_type="deployment",
                                        target_key="deployment:chat", target_label="chat", deployment="chat",
                                        title="Scale chat down", reason="r", confidence=0.8, saving_usd_month=2920.0,
                                        acknowledged_at=history.nov(26, 10, 20))  # fmt: skip
    client.force_login(viewer)
    with time_machine.travel(history.day(3, 12, 30), tick=False):
        body = client.get(f"/api/v1/recommendations/{rec.pk}").json()
        listed = client.get("/api/v1/recommendations").json()["items"][0]
    assert body["acknowledged_at"] == listed["acknowledged_at"] == "2026-11-26T10:20:00Z"
    got = body["realized"]
    assert (got["hosts"], got["too_early"], got["after_hours"]) == (2, False, 168)
    assert got["before"]["usd_month"] == 5840.0 and got["after"]["usd_month"] == 2920.0
    assert got["realized_usd_month"] == 2920.0 and got["promised_usd_month"] == 2920.0
    open_one = Recommendation.objects.create(kind="idle", target_type="host", target_key="host:x", host=h1,
                                             target_label="chat-1", title="t", reason="r", confidence=0.5)  # fmt: skip
    assert client.get(f"/api/v1/recommendations/{open_one.pk}").json()["realized"] is None
    missing = client.get("/api/v1/recommendations/999999")
    assert missing.status_code == 404 and "/api/v1/recommendations" in missing.json()["detail"]
