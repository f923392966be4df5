"""Configuration precedence and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.config import ConfigError, load

TOML = """
url = "http://file.example"
token = "rsa_from_file"
sample_interval_s = 10
[labels]
deployment = "from-file"
[[servers]]
kind = "vllm"
url = "http://127.0.0.1:8000/metrics"
"""


def test_flags_beat_environment_beat_file(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(TOML)
    env = {"RIGHTSIZER_URL": "http://env.example", "RIGHTSIZER_SAMPLE_INTERVAL_S": "2",
           "RIGHTSIZER_LABELS": "deployment=from-env,team=search"}  # fmt: skip
    cfg = load({"url": "http://flag.example"}, env, path)
    assert cfg.url == "http://flag.example" and cfg.source["url"] == "flag"
    assert cfg.sample_interval_s == 2.0 and cfg.source["sample_interval_s"] == "env"
    assert cfg.token == "rsa_from_file" and cfg.labels == {"deployment": "from-env", "team": "search"}
    assert cfg.servers == [{"kind": "vllm", "url": "http://127.0.0.1:8000/metrics"}]


def test_token_file(tmp_path):
    (tmp_path / "token").write_text("rsa_secret\n")
    cfg = load({}, {"RIGHTSIZER_TOKEN_FILE": str(tmp_path / "token")})
    assert cfg.token == "rsa_secret"


@pytest.mark.parametrize(("env", "words"), [
    ({"RIGHTSIZER_SAMPLE_INTERVAL_S": "fast"}, "sample_interval_s"),
    ({"RIGHTSIZER_DISCOVER": "maybe"}, "discover"),
    ({"RIGHTSIZER_SERVERS": "ollama=http://x/metrics"}, "servers[0]"),
    ({"RIGHTSIZER_PUSH_INTERVAL_S": "1"}, "push_interval_s"),
    ({"RIGHTSIZER_LABELS": "no-equals-sign"}, "labels"),
    ({"RIGHTSIZER_SPOOL_MAX_5XX": "2.5"}, "spool_max_5xx"),
    ({"RIGHTSIZER_SPOOL_MAX_5XX": "0"}, "spool_max_5xx"),
    ({"RIGHTSIZER_HOST_ID": "x" * 129}, "host_id"),
])  # fmt: skip
def test_bad_values_name_the_setting(env, words):
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load({}, env)


def test_a_named_config_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load({}, {}, Path(tmp_path / "nope.toml"))


def test_missing_url_and_token_are_explained():
    cfg = load({}, {})
    with pytest.raises(ConfigError, match="RIGHTSIZER_URL"):
        cfg.require_server()
    cfg.url = "http://x"
    with pytest.raises(ConfigError, match="create_agent_token"):
        cfg.require_server()


def test_host_id_from_file_environment_and_flag(tmp_path):
    """Hosts cloned from one image share /etc/machine-id; host_id tells them apart."""
    path = tmp_path / "agent.toml"
    path.write_text('host_id = "from-file"\nspool_max_5xx = 5\n')
    cfg = load({}, {}, path)
    assert (cfg.host_id, cfg.spool_max_5xx) == ("from-file", 5)
    assert load({}, {"RIGHTSIZER_HOST_ID": " gpu-node-17 "}, path).host_id == "gpu-node-17"
    assert load({"host_id": "from-flag"}, {"RIGHTSIZER_HOST_ID": "env"}, path).host_id == "from-flag"
    assert load({}, {}).host_id == "" and load({}, {}).spool_max_5xx == 20


def test_boolean_words_are_the_servers(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from collectors.config import FALSE_WORDS, TRUE_WORDS
    from rightsizer.env import env_bool

    for word in TRUE_WORDS | FALSE_WORDS | {"ON", " Yes ", "Off"}:
        truth = word.strip().lower() in TRUE_WORDS
        assert load({}, {"RIGHTSIZER_DISCOVER": word}).discover is truth
        monkeypatch.setenv("RS_TEST_BOOL", word)
        assert env_bool("RS_TEST_BOOL", not truth) is truth  # the server reads the same words
    with pytest.raises(ConfigError, match="not a boolean: use true or false"):
        load({}, {"RIGHTSIZER_DISCOVER": "enabled"})
    monkeypatch.setenv("RS_TEST_BOOL", "enabled")
    with pytest.raises(ImproperlyConfigured, match="not a boolean: use true or false"):
        env_bool("RS_TEST_BOOL", True)
