"""Every refusal of the ingest API: its status, its JSON body, and nothing stored."""

from __future__ import annotations

import gzip
import io
import json
import time

import pytest

from telemetry.models import AgentToken, Host, HostSample
from tests.batches import batch, gpu_info, post, server_info

pytestmark = pytest.mark.django_db


def assert_refused(resp, status: int, code: str, *words: str) -> dict:
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"] == "application/json"
    body = resp.json()
    assert body["error"] == code
    assert body["message"].endswith((".", ")")) and len(body["message"]) > 20  # a sentence
    for word in words:
        assert word in body["message"], body["message"]
    assert HostSample.objects.count() == 0 and Host.objects.count() == 0
    return body


def test_missing_token_is_401(client):
    body = assert_refused(post(client, None, batch()), 401, "missing_token", "Bearer")
    assert "create_agent_token" in body["message"]


def test_other_auth_scheme_is_401(client, agent_token):
    resp = post(client, None, batch(), HTTP_AUTHORIZATION=f"Basic {agent_token[1]}")
    assert_refused(resp, 401, "missing_token")
    assert resp["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_401(client, agent_token):
    assert_refused(post(client, agent_token[1] + "x", batch()), 401, "unknown_token")


def test_token_without_prefix_gets_a_hint(client, db):
    assert_refused(post(client, "abc123", batch()), 401, "unknown_token", "rsa_")


def test_revoked_token_is_401(client, agent_token):
    token, raw = agent_token
    assert post(client, raw, batch(machine_id="before")).status_code == 202
    token.revoke()
    HostSample.objects.all().delete()
    Host.objects.all().delete()
    assert_refused(post(client, raw, batch()), 401, "revoked_token", "create a new one")


def test_not_json_is_400(client, agent_token):
    assert_refused(post(client, agent_token[1], b"{not json"), 400, "malformed", "JSON")


def test_json_array_is_400(client, agent_token):
    assert_refused(post(client, agent_token[1], b"[1, 2]"), 400, "malformed")


def test_empty_body_is_400(client, agent_token):
    assert_refused(post(client, agent_token[1], b""), 400, "malformed", "empty")


def test_bad_gzip_is_400(client, agent_token):
    resp = post(client, agent_token[1], b"\x1f\x8b\x08garbage", HTTP_CONTENT_ENCODING="gzip")
    assert_refused(resp, 400, "bad_gzip", "gzip")


def test_truncated_gzip_is_400(client, agent_token):
    body = gzip.compress(json.dumps(batch()).encode())[:-12]
    resp = post(client, agent_token[1], body, HTTP_CONTENT_ENCODING="gzip")
    assert_refused(resp, 400, "bad_gzip", "truncated")


def test_unsupported_encoding_is_415(client, agent_token):
    resp = post(client, agent_token[1], batch(), HTTP_CONTENT_ENCODING="br")
    assert_refused(resp, 415, "unsupported_encoding", "gzip")


def test_body_over_the_limit_is_413(client, agent_token, settings):
    settings.INGEST_MAX_BODY_BYTES = 2000
    assert len(json.dumps(batch(n_samples=10))) > 2000
    assert_refused(post(client, agent_token[1], batch(n_samples=10)), 413, "too_large", "2000 bytes")


def test_gzip_bomb_is_413(client, agent_token, settings):
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 100_000
    bomb = gzip.compress(b"{" + b" " * 10_000_000 + b"}")
    assert len(bomb) < settings.INGEST_MAX_BODY_BYTES
    resp = post(client, agent_token[1], bomb, HTTP_CONTENT_ENCODING="gzip")
    assert_refused(resp, 413, "too_large", "decompresses")


def test_bad_fields_are_422_with_every_path(client, agent_token):
    payload = batch(n_samples=2)
    payload["samples"][0]["cpu_pct"] = 101
    payload["samples"][0]["gpus"][0]["util_pct"] = "35"  # strings are not numbers
    payload["samples"][1]["gpus"][0]["uuid"] = "GPU-unknown"
    payload["samples"][1]["ts"] = time.time() + 3600
    payload["servers"][0]["kind"] = "ollama"
    del payload["host"]["machine_id"]
    body = assert_refused(post(client, agent_token[1], payload), 422, "invalid", "6 fields", "nothing")
    paths = {e["path"]: e for e in body["errors"]}
    assert set(paths) == {
        "samples.0.cpu_pct",
        "samples.0.gpus.0.util_pct",
        "samples.1.gpus.0.uuid",
        "samples.1.ts",
        "servers.0.kind",
        "host.machine_id",
    }
    assert "less than or equal to 100" in paths["samples.0.cpu_pct"]["message"]
    assert "future" in paths["samples.1.ts"]["message"]
    assert "not listed in 'gpus'" in paths["samples.1.gpus.0.uuid"]["message"]


def test_cross_references_are_checked(client, agent_token):
    payload = batch(
        gpus=[gpu_info("GPU-a"), gpu_info("GPU-a", 1)],
        servers=[server_info(gpu_uuids=["GPU-zzz"])],
        n_samples=1,
    )
    payload["samples"][0]["servers"] = [{"id": "tgi:80"}]
    body = assert_refused(post(client, agent_token[1], payload), 422, "invalid")
    assert {e["path"] for e in body["errors"]} == {
        "gpus.1.uuid",
        "servers.0.gpu_uuids.0",
        "samples.0.servers.0.id",
        "samples.0.gpus.1.uuid",  # two readings of the one GPU-a
    }


def test_no_samples_is_422(client, agent_token):
    payload = batch()
    payload["samples"] = []
    body = assert_refused(post(client, agent_token[1], payload), 422, "invalid")
    assert body["errors"][0]["path"] == "samples"


def test_too_many_samples_is_422(client, agent_token, settings):
    settings.INGEST_MAX_SAMPLES = 5
    body = assert_refused(post(client, agent_token[1], batch(n_samples=6, interval_s=1)), 422, "invalid")
    assert body["errors"][0]["type"] == "too_many_samples"


def test_non_finite_numbers_are_422(client, agent_token):
    text = json.dumps(batch(n_samples=1)).replace('"cpu_pct": 12.5', '"cpu_pct": NaN')
    assert "NaN" in text
    resp = post(client, agent_token[1], text.encode())
    assert resp.status_code in (400, 422) and HostSample.objects.count() == 0


def test_future_bound_is_configurable(client, agent_token, settings):
    settings.INGEST_MAX_FUTURE_S = 3600
    payload = batch(n_samples=1, start=time.time() + 1800)
    assert post(client, agent_token[1], payload).status_code == 202


def test_over_the_rate_limit_is_429_with_retry_after(client, agent_token, settings):
    settings.INGEST_RATE_LIMIT_PER_MIN = 2
    _, raw = agent_token
    for i in range(2):
        assert post(client, raw, batch(n_samples=1, start=time.time() - 100 + i)).status_code == 202
    resp = post(client, raw, batch(n_samples=1))
    assert resp.status_code == 429
    assert resp.json()["error"] == "rate_limited" and "Retry after" in resp.json()["message"]
    assert 1 <= int(resp["Retry-After"]) <= 60
    assert HostSample.objects.count() == 2
    # Another host on the same token has its own allowance.
    other = batch(machine_id="other", n_samples=1, gpus=[gpu_info("GPU-other")])
    assert post(client, raw, other).status_code == 202


def test_revoked_token_row_is_untouched_by_refusals(client, agent_token):
    token, raw = agent_token
    token.revoke()
    post(client, raw, batch())
    assert AgentToken.objects.get(pk=token.pk).last_used_at is None


# Bodies that once answered 500 (or stored what PostgreSQL cannot hold): each is now a
# 4xx in the API's JSON, with nothing stored and nothing registered.


@pytest.mark.parametrize("item", [{"a": 1}, ["GPU-aaaa"], 7, None])
def test_a_non_string_gpu_uuid_is_422(client, agent_token, item):
    payload = batch(n_samples=1)
    payload["servers"][0]["gpu_uuids"] = [item]
    body = assert_refused(post(client, agent_token[1], payload), 422, "invalid")
    assert [e["path"] for e in body["errors"]] == ["servers.0.gpu_uuids.0"]


@pytest.mark.parametrize("literal", ["1e-400", "-1e-400", "0.0000000000000000000000000000000000001", "5e-324"])
def test_a_number_too_small_to_store_is_422(client, agent_token, literal):
    text = json.dumps(batch(n_samples=1)).replace('"cpu_pct": 12.5', f'"cpu_pct": {literal}')
    body = assert_refused(post(client, agent_token[1], text.encode()), 422, "invalid")
    assert [(e["path"], e["type"]) for e in body["errors"]] == [("samples.0.cpu_pct", "too_small")]
    assert "send 0" in body["errors"][0]["message"]


def test_small_numbers_and_zero_in_exponent_form_are_fine(client, agent_token):
    text = json.dumps(batch(n_samples=1)).replace('"cpu_pct": 12.5', '"cpu_pct": 1.5e-05, "load1": 0e-400')
    assert post(client, agent_token[1], text.encode()).status_code == 202
    assert HostSample.objects.get().cpu_pct == 1.5e-05


@pytest.mark.parametrize(
    "where",
    [
        lambda p: p["samples"][0].update(note="a\u0000b"),  # an unknown field
        lambda p: p["host"].update(extra={"k\u0000": 1}),  # an unknown key
        lambda p: p.update(future=[["x", {"y": "\u0000"}]]),
        lambda p: p["host"].update(hostname="gpu\u0000node"),
        lambda p: p["host"]["labels"].update({"team": "ml\u0000"}),
        lambda p: p["servers"][0].update(model="llama\u0000"),
        lambda p: p["samples"][0]["servers"][0].update(id="vllm:8000\u0000"),
    ],
)
def test_a_nul_character_anywhere_is_422(client, agent_token, where):
    payload = batch(n_samples=1)
    where(payload)
    body = assert_refused(post(client, agent_token[1], payload), 422, "invalid")
    assert any("NUL" in e["message"] or "pattern" in e["message"] for e in body["errors"])


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client, agent_token):
    payload = batch(n_samples=1)
    payload["host"]["os"] = "C:\\u0000"  # the text backslash, u, 0000
    assert post(client, agent_token[1], payload).status_code == 202
    assert Host.objects.get().os == "C:\\u0000"


def test_max_batch_size_over_int32_is_422(client, agent_token):
    payload = batch(n_samples=1)
    payload["servers"][0]["max_batch_size"] = 2**31
    body = assert_refused(post(client, agent_token[1], payload), 422, "invalid")
    assert [e["path"] for e in body["errors"]] == ["servers.0.max_batch_size"]


def test_a_chunked_body_without_content_length_is_read(client, agent_token):
    data = json.dumps(batch(n_samples=2)).encode()
    resp = client.request(
        REQUEST_METHOD="POST",
        PATH_INFO="/api/v1/ingest",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {agent_token[1]}",
        **{"wsgi.input": io.BytesIO(data)},  # as gunicorn de-chunks it,
    )
    assert resp.status_code == 202, resp.content
    assert HostSample.objects.count() == 2


def test_a_chunked_body_over_the_limit_is_413(client, agent_token, settings):
    settings.INGEST_MAX_BODY_BYTES = 2000
    data = json.dumps(batch(n_samples=10)).encode()
    resp = client.request(
        REQUEST_METHOD="POST",
        PATH_INFO="/api/v1/ingest",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_AUTHORIZATION=f"Bearer {agent_token[1]}",
        **{"wsgi.input": io.BytesIO(data)},  # as gunicorn de-chunks it,
    )
    assert_refused(resp, 413, "too_large")


def test_an_unexpected_error_is_a_json_500_and_logged(client, agent_token, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("telemetry.ingest.check_rate", broken)
    resp = post(client, agent_token[1], batch(n_samples=1))
    assert_refused(resp, 500, "internal", "logged")
    assert "event=api_error" in caplog.text and "RuntimeError" in caplog.text
