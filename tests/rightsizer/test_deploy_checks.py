"""Production as the README documents it: `check --deploy` is clean, HTTP goes to HTTPS, HSTS is sent."""

from __future__ import annotations

import secrets

import pytest
from django.test import Client, override_settings

from tests.rightsizer.test_settings import run_manage

# The README's production variables (Configuration, "Behind a TLS proxy").
PRODUCTION = {
    "RIGHTSIZER_BEHIND_TLS_PROXY": "true",
    "RIGHTSIZER_ALLOWED_HOSTS": "rightsizer.example.com",
    "RIGHTSIZER_CSRF_TRUSTED_ORIGINS": "https://rightsizer.example.com",
    "RIGHTSIZER_DEBUG": "false",
}


@pytest.mark.parametrize("key_from", ["SECRET_KEY", "SECRET_KEY_FILE"])
def test_check_deploy_is_clean_under_the_production_variables(tmp_path, monkeypatch, key_from):
    # The browser tests' conftest sets this for Playwright in this process; a deployment never has it.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    key = {"SECRET_KEY": secrets.token_urlsafe(50), "SECRET_KEY_FILE": ""}
    if key_from == "SECRET_KEY_FILE":
        (tmp_path / "key").write_text(secrets.token_urlsafe(50))
        key = {"SECRET_KEY": "", "SECRET_KEY_FILE": str(tmp_path / "key")}
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", RIGHTSIZER_VAR_DIR=str(tmp_path), **key, **PRODUCTION,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_warns_when_the_key_was_generated_and_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    result = run_manage("check", "--deploy", RIGHTSIZER_VAR_DIR=str(tmp_path), SECRET_KEY="", SECRET_KEY_FILE="",
                        **PRODUCTION)  # fmt: skip
    assert "rightsizer.W001" in result.stderr, result.stdout + result.stderr
    assert f"generated into {tmp_path / 'secret_key'}" in result.stderr
    assert "Set SECRET_KEY, or SECRET_KEY_FILE" in result.stderr
    # `make run` and plain `check` stay quiet: the warning is for deployments.
    plain = run_manage("check", RIGHTSIZER_VAR_DIR=str(tmp_path), SECRET_KEY="", SECRET_KEY_FILE="")
    assert plain.returncode == 0 and "W001" not in plain.stdout + plain.stderr, plain.stderr


def test_the_secret_key_check_passes_a_key_from_the_environment(settings):
    from rightsizer.checks import secret_key_check

    settings.SECRET_KEY_GENERATED = False
    assert secret_key_check() == []
    settings.SECRET_KEY_GENERATED = True
    assert [w.id for w in secret_key_check()] == ["rightsizer.W001"]


def test_without_a_proxy_nothing_pins_https_and_the_max_age_is_configurable(tmp_path):
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)"
    result = run_manage("shell", "-v", "0", "-c", code, RIGHTSIZER_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "False"]
    result = run_manage("shell", "-v", "0", "-c", code, RIGHTSIZER_VAR_DIR=str(tmp_path),
                        RIGHTSIZER_BEHIND_TLS_PROXY="true", RIGHTSIZER_HSTS_SECONDS="300")  # fmt: skip
    assert result.stdout.split() == ["300", "True"], result.stderr


@pytest.mark.django_db
@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_SSL_REDIRECT=True,
    SECURE_REDIRECT_EXEMPT=[r"^healthz$"],
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
)
def test_behind_the_proxy_http_is_redirected_and_https_is_pinned():
    client = Client()
    resp = client.get("/accounts/login/")
    assert resp.status_code == 301 and resp["Location"] == "https://testserver/accounts/login/"
    resp = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert resp.status_code == 200
    assert resp["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get("/healthz").status_code != 301  # the container's health check speaks plain HTTP
