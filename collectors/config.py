"""Agent configuration: command-line flags, then environment variables, then a TOML file.

url = "https://rightsizer.example.com"        # RIGHTSIZER_URL
token = "rsa_…"                               # RIGHTSIZER_TOKEN (or token_file / RIGHTSIZER_TOKEN_FILE)
sample_interval_s = 5                         # RIGHTSIZER_SAMPLE_INTERVAL_S
push_interval_s = 30                          # RIGHTSIZER_PUSH_INTERVAL_S
state_dir = "/var/lib/rightsizer-agent"       # RIGHTSIZER_STATE_DIR (spool, machine id)
spool_max_mb = 200                            # RIGHTSIZER_SPOOL_MAX_MB
spool_max_age_days = 7                        # RIGHTSIZER_SPOOL_MAX_AGE_DAYS
spool_max_5xx = 20                            # RIGHTSIZER_SPOOL_MAX_5XX (5xx answers before a batch is set aside)
host_id = "gpu-node-17"                       # RIGHTSIZER_HOST_ID (instead of /etc/machine-id: cloned images)
instance_type = "g5.12xlarge"                 # RIGHTSIZER_INSTANCE_TYPE
discover = true                               # RIGHTSIZER_DISCOVER
discover_interval_s = 300                     # RIGHTSIZER_DISCOVER_INTERVAL_S (look again; 0: at start only)
[labels]                                      # RIGHTSIZER_LABELS="deployment=chat-prod,team=search"
deployment = "chat-prod"
[[servers]]                                   # RIGHTSIZER_SERVERS="vllm=http://:8000/metrics,vllm=http://:8001/metrics"
kind = "vllm"                                 # (a kind may repeat; no host means this one, 127.0.0.1)
url = "http://127.0.0.1:8000/metrics"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("/etc/rightsizer/agent.toml")
KINDS = ("vllm", "tgi", "triton", "sglang")
# The words a boolean may be, here and in the server's settings (rightsizer/env.py reads these).
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class ConfigError(ValueError):
    """A configuration value a person must fix; the message says which and how."""


@dataclass
class AgentConfig:
    url: str = ""
    token: str = ""
    sample_interval_s: float = 5.0
    push_interval_s: float = 30.0
    state_dir: Path = Path("/var/lib/rightsizer-agent")
    spool_max_mb: float = 200.0
    spool_max_age_days: float = 7.0
    spool_max_5xx: int = 20  # 5xx answers in a row before a batch is set aside (if others get through)
    host_id: str = ""  # overrides the machine id: hosts cloned from one image share /etc/machine-id
    instance_type: str = ""
    discover: bool = True
    discover_interval_s: float = 300.0  # servers that start after the agent are found this much later
    labels: dict[str, str] = field(default_factory=dict)
    servers: list[dict[str, str]] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)  # where each value came from

    def require_server(self) -> None:
        if not self.url:
            raise ConfigError("no server URL: set RIGHTSIZER_URL, --url, or url in the config file")
        if not self.token:
            raise ConfigError(
                "no agent token: set RIGHTSIZER_TOKEN, --token, or token in the config file "
                "(create one with 'manage.py create_agent_token NAME' on the server)"
            )


FIELDS = {
    "url": str, "token": str, "sample_interval_s": float, "push_interval_s": float, "state_dir": Path,
    "spool_max_mb": float, "spool_max_age_days": float, "spool_max_5xx": int, "host_id": str,
    "instance_type": str, "discover": bool, "discover_interval_s": float, "labels": dict, "servers": list,
}  # fmt: skip


def load(flags: dict[str, Any], environ: dict[str, str] | None = None, path: Path | None = None) -> AgentConfig:
    environ = os.environ if environ is None else environ
    cfg = AgentConfig()
    file_path = path or (Path(environ["RIGHTSIZER_CONFIG"]) if environ.get("RIGHTSIZER_CONFIG") else None)
    layers = [
        ("file", _from_file(file_path or DEFAULT_CONFIG, required=file_path is not None)),
        ("env", _from_env(environ)),
        ("flag", {k: v for k, v in flags.items() if v is not None}),
    ]
    for source, values in layers:  # later layers win
        for key, value in values.items():
            if key not in FIELDS:
                raise ConfigError(f"unknown setting {key!r} ({source}); known: {', '.join(FIELDS)}")
            setattr(cfg, key, _coerce(key, value, source))
            cfg.source[key] = source
    _validate(cfg)
    return cfg


def _from_file(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"config file {path} does not exist")
        return {}
    try:
        values = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    if "token_file" in values:
        values["token"] = _read_token(Path(values.pop("token_file")))
    return values


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in FIELDS:
        raw = environ.get(f"RIGHTSIZER_{key.upper()}")
        if raw:
            values[key] = raw
    if environ.get("RIGHTSIZER_TOKEN_FILE") and "token" not in values:
        values["token"] = _read_token(Path(environ["RIGHTSIZER_TOKEN_FILE"]))
    return values


def _read_token(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"token file {path} cannot be read: {exc}") from None


def _coerce(key: str, value: Any, source: str) -> Any:
    kind = FIELDS[key]
    where = f"{key} ({source})"
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError
            return text in TRUE_WORDS
        if kind is float:
            return float(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is Path:
            return Path(value)
        if kind is dict:
            return value if isinstance(value, dict) else _pairs(str(value))
        if kind is list:
            return value if isinstance(value, list) else _servers(str(value))
        return str(value)
    except ValueError:
        if kind is bool:
            raise ConfigError(f"{where}: {value!r} is not a boolean: use true or false") from None
        raise ConfigError(f"{where}: {value!r} is not a valid {kind.__name__}") from None


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ValueError
        out[key.strip()] = value.strip()
    return out


def _servers(text: str) -> list[dict[str, str]]:
    """kind=url,… in order; a kind may come several times (two vLLM servers on one host)."""
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        kind, eq, url = item.partition("=")
        if not eq or not kind:
            raise ValueError
        out.append({"kind": kind.strip(), "url": url.strip()})
    return out


def local_url(url: str) -> str:
    """http://:8000/metrics (no host) means this machine."""
    for scheme in ("http://:", "https://:"):
        if url.startswith(scheme):
            return scheme[:-1] + "127.0.0.1:" + url[len(scheme) :]
    return url


def _validate(cfg: AgentConfig) -> None:
    if cfg.sample_interval_s < 0.5:
        raise ConfigError("sample_interval_s must be at least 0.5 s")
    if cfg.push_interval_s < cfg.sample_interval_s:
        raise ConfigError("push_interval_s must be at least sample_interval_s")
    if cfg.spool_max_5xx < 1:
        raise ConfigError("spool_max_5xx must be at least 1")
    if cfg.discover_interval_s and cfg.discover_interval_s < 10:
        raise ConfigError("discover_interval_s must be 0 (at start only) or at least 10 s")
    cfg.servers = [{**s, "url": local_url(str(s.get("url", "")))} if isinstance(s, dict) else s for s in cfg.servers]
    cfg.host_id = cfg.host_id.strip()
    if len(cfg.host_id) > 128 or not cfg.host_id.isprintable():
        raise ConfigError(f"host_id {cfg.host_id[:40]!r}…: at most 128 printable characters (the server's limit)")
    for i, server in enumerate(cfg.servers):
        if server.get("kind") not in KINDS or not str(server.get("url", "")).startswith(("http://", "https://")):
            raise ConfigError(f"servers[{i}] = {server!r}: needs kind (one of {', '.join(KINDS)}) and an http(s) url")
