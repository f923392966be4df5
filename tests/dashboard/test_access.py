"""Every page and JSON endpoint, for each persona: anonymous, outsider (inactive), viewer, admin."""

from __future__ import annotations

import pytest
from django.test import Client

from recommender.models import DeploymentThresholds, FleetThresholds, GpuType, HostPrice, Recommendation
from telemetry.models import AgentToken, ApiToken, Host


@pytest.fixture
def objects(fleet, admin, viewer):
    host = Host.objects.get(hostname__startswith="sim-oversized")
    rec = Recommendation.objects.order_by("pk").first()
    return {
        "host": host.pk, "rec": rec.pk, "dep": "oversized",
        "agent_token": AgentToken.objects.first().pk,
        "api_token": ApiToken.issue(viewer, "mine")[0].pk,
        "host_price": HostPrice.objects.create(host=host, hourly_usd=9.0).pk,
        "thresholds": DeploymentThresholds.objects.create(deployment="oversized", values={"target_util_pct": 60}).pk,
        "gpu_type": GpuType.objects.first().pk,
    }  # fmt: skip


PAGES = ["/", "/deployments/", "/deployments/{dep}/", "/hosts/{host}/", "/hosts/{host}/gpus/3/", "/recommendations/",
         "/recommendations/{rec}/", "/recommendations.csv", "/planner/", "/settings/"]  # fmt: skip
JSON = ["/hosts/{host}/series.json", "/hosts/{host}/gpus/3/series.json", "/deployments/{dep}/series.json",
        "/recommendations/{rec}/evidence.json"]  # fmt: skip
ADMIN_POSTS = [
    ("/recommendations/{rec}/status", {"action": "acknowledge"}),
    ("/settings/agent-tokens", {"agent-name": "rack 9"}),
    ("/settings/agent-tokens/{agent_token}/revoke", {}),
    ("/settings/gpu-price", {"gpu_type": "{gpu_type}", "price": "1.5"}),
    ("/settings/host-prices", {"hostname": "sim-idle-gpu-00001", "hourly_usd": "2"}),
    ("/settings/host-prices/{host_price}/delete", {}),
    ("/settings/thresholds", {"deployment": "chat", "idle_util_p99_pct": "3"}),
    ("/settings/thresholds/{thresholds}/delete", {}),
    ("/settings/thresholds/fleet", {"fleet-target_util_pct": "65"}),
    ("/settings/thresholds/fleet/reset", {}),
]
OWN_POSTS = [("/settings/api-tokens", {"api-name": "script"}), ("/settings/api-tokens/{api_token}/revoke", {})]


def _fill(template: str, objects: dict) -> str:
    return template.format(**objects)


def _client(who: str, admin, viewer, outsider) -> Client:
    client = Client()
    if who == "viewer":
        client.force_login(viewer)
    elif who == "admin":
        client.force_login(admin)
    elif who == "outsider":
        client.login(username="outsider", password="outsider-pass-123")  # refused: the account is inactive
    return client


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_nobody_logged_out_reads_anything(who, objects, admin, viewer, outsider):
    client = _client(who, admin, viewer, outsider)
    for url in PAGES:
        resp = client.get(_fill(url, objects))
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/?next="), url
    for url in JSON:
        resp = client.get(_fill(url, objects))
        assert resp.status_code == 401 and "Log in" in resp.json()["detail"], url
    for url, data in ADMIN_POSTS + OWN_POSTS:
        resp = client.post(_fill(url, objects), {k: _fill(v, objects) for k, v in data.items()})
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"], url
    assert Recommendation.objects.get(pk=objects["rec"]).status == "open"
    assert not AgentToken.objects.filter(name="rack 9").exists()


@pytest.mark.parametrize("who", ["viewer", "admin"])
def test_viewers_and_admins_read_every_page_and_endpoint(who, objects, admin, viewer, outsider):
    client = _client(who, admin, viewer, outsider)
    for url in PAGES:
        assert client.get(_fill(url, objects)).status_code == 200, url
    for url in JSON:
        resp = client.get(_fill(url, objects))
        assert resp.status_code == 200 and resp["Content-Type"] == "application/json", url


def test_a_viewer_cannot_change_anything_an_admin_can(objects, admin, viewer, outsider):
    client = _client("viewer", admin, viewer, outsider)
    for url, data in ADMIN_POSTS:
        resp = client.post(_fill(url, objects), {k: _fill(v, objects) for k, v in data.items()})
        assert resp.status_code == 403, url
    assert Recommendation.objects.get(pk=objects["rec"]).status == "open"
    assert AgentToken.objects.get(pk=objects["agent_token"]).revoked_at is None
    assert GpuType.objects.get(pk=objects["gpu_type"]).price_override_usd is None
    assert HostPrice.objects.filter(pk=objects["host_price"]).exists()
    assert DeploymentThresholds.objects.filter(pk=objects["thresholds"]).exists()
    assert not FleetThresholds.objects.exists()
    page = client.get(f"/recommendations/{objects['rec']}/").content.decode()
    assert "Dismiss" not in page and "an admin acknowledges" in page
    assert "Create agent token" not in client.get("/settings/").content.decode()

    admin_client = _client("admin", admin, viewer, outsider)
    for url, data in ADMIN_POSTS:
        resp = admin_client.post(_fill(url, objects), {k: _fill(v, objects) for k, v in data.items()})
        assert resp.status_code == 302, (url, resp.content[:500])
    assert Recommendation.objects.get(pk=objects["rec"]).status == "acknowledged"
    assert AgentToken.objects.get(pk=objects["agent_token"]).revoked_at is not None
    assert AgentToken.objects.filter(name="rack 9", revoked_at__isnull=True).exists()
    assert GpuType.objects.get(pk=objects["gpu_type"]).price_override_usd == 1.5
    assert HostPrice.objects.filter(host__hostname="sim-idle-gpu-00001", hourly_usd=2).exists()
    assert not HostPrice.objects.filter(pk=objects["host_price"]).exists()
    assert DeploymentThresholds.objects.get(deployment="chat").values == {"idle_util_p99_pct": 3}
    assert not DeploymentThresholds.objects.filter(pk=objects["thresholds"]).exists()


def test_a_viewer_manages_only_their_own_api_tokens(objects, admin, viewer, outsider):
    client = _client("viewer", admin, viewer, outsider)
    resp = client.post("/settings/api-tokens", {"api-name": "script"})
    assert resp.status_code == 302
    page = client.get(resp["Location"]).content.decode()
    token = ApiToken.objects.get(name="script")
    assert token.user == viewer and token.prefix in page and "rsp_" in page
    assert "copy it now" not in client.get("/settings/").content.decode()  # shown once
    someone_elses = ApiToken.issue(admin, "admin's")[0]
    assert client.post(f"/settings/api-tokens/{someone_elses.pk}/revoke").status_code == 404
    someone_elses.refresh_from_db()
    assert someone_elses.revoked_at is None
    assert client.post(f"/settings/api-tokens/{token.pk}/revoke").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_every_form_needs_its_csrf_token(objects, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    for url, data in ADMIN_POSTS + OWN_POSTS:
        resp = client.post(_fill(url, objects), {k: _fill(v, objects) for k, v in data.items()})
        assert resp.status_code == 403, url
    assert Recommendation.objects.get(pk=objects["rec"]).status == "open"
    page = client.get("/settings/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 6


def test_logout_ends_the_session(client, viewer):
    client.force_login(viewer)
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
