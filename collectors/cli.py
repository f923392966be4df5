"""rightsizer-agent: run | once | check [--json] | simulate; options before or after the command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from collectors import __version__
from collectors.config import AgentConfig, ConfigError, load
from collectors.nvml import Nvml
from collectors.push import ACCEPTED, REJECTED, Pusher

log = logging.getLogger("rightsizer.agent")


LOCAL_NAMES = {"127.0.0.1", "localhost", "::1"}


class Servers:
    """The inference servers this agent scrapes: those configured (a kind may repeat), and those
    discovered on this machine's ports, at start and again every `discover_interval_s` (one pass
    over the process table), so a server started after the agent is found without a restart."""

    def __init__(self, cfg: AgentConfig) -> None:
        from collectors.scrapers import Scraper

        self.discover = cfg.discover
        self.by_endpoint: dict[tuple[str, int], Scraper] = {}
        for server in cfg.servers:
            host, port = _endpoint(server["url"])
            server_id = f"{server['kind']}:{port}" if host in LOCAL_NAMES else f"{server['kind']}:{host}:{port}"
            self.by_endpoint[(host, port)] = Scraper(server_id, server["kind"], server["url"])
        self.scrapers = list(self.by_endpoint.values())
        self.rediscover()

    def rediscover(self) -> list:
        """Discovery fills in model, dtype, … and the pid of a configured endpoint on the same port;
        a server on a new port becomes a new scraper. Returns the new ones."""
        from collectors.scrapers import Scraper
        from collectors.scrapers.discovery import discover

        new = []
        for found in discover() if self.discover else []:
            key = ("127.0.0.1", found["port"])
            if key in self.by_endpoint:
                self.by_endpoint[key].info.update(found)
                continue
            url = f"http://127.0.0.1:{found['port']}/metrics"
            scraper = Scraper(f"{found['kind']}:{found['port']}", found["kind"], url, info=dict(found))
            self.by_endpoint[key] = scraper
            self.scrapers.append(scraper)  # the Sampler holds this same list
            new.append(scraper)
            log.info("event=server_discovered server=%s model=%s", scraper.server_id, found.get("model", ""))
        return new


def _endpoint(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return ("127.0.0.1" if host in LOCAL_NAMES else host), parts.port or (443 if parts.scheme == "https" else 80)


def build_scrapers(cfg: AgentConfig) -> list:
    return Servers(cfg).scrapers


def cmd_run(cfg: AgentConfig) -> int:
    from collectors.agent import Agent, Drainer, Sampler
    from collectors.spool import Spool

    cfg.require_server()
    spool = Spool(cfg.state_dir / "spool", int(cfg.spool_max_mb * 1024**2), cfg.spool_max_age_days * 86400)
    servers = Servers(cfg)
    sampler = Sampler(cfg.state_dir, cfg.labels, cfg.instance_type, servers.scrapers, host_id=cfg.host_id)
    drainer = Drainer(spool, Pusher(cfg.url, cfg.token), max_5xx=cfg.spool_max_5xx,
                      hostname=sampler.host["hostname"])  # fmt: skip
    agent = Agent(sampler, spool, drainer, cfg.sample_interval_s, cfg.push_interval_s,
                  rediscover=servers.rediscover if cfg.discover else None,
                  rediscover_s=cfg.discover_interval_s)  # fmt: skip
    signal.signal(signal.SIGTERM, agent.stop)
    signal.signal(signal.SIGINT, agent.stop)
    agent.run()
    return 0


def cmd_once(cfg: AgentConfig) -> int:
    from collectors.agent import Sampler

    sampler = Sampler(cfg.state_dir, cfg.labels, cfg.instance_type, build_scrapers(cfg), host_id=cfg.host_id)
    for scraper in sampler.scrapers:  # a first scrape so counters have a baseline
        scraper.scrape()
    time.sleep(1.0)  # CPU % and byte rates need an interval
    json.dump(sampler.batch([sampler.sample()]), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_check(cfg: AgentConfig, as_json: bool = False) -> int:
    problems = 0
    results: list[dict[str, object]] = []

    def line(ok: bool | None, what: str) -> None:
        nonlocal problems
        mark = {True: "ok  ", False: "FAIL", None: "info"}[ok]
        problems += ok is False
        results.append({"status": {True: "ok", False: "fail", None: "info"}[ok], "check": what})
        if not as_json:
            print(f"{mark} {what}")

    line(None, f"agent {__version__}; config from {', '.join(sorted(set(cfg.source.values()))) or 'defaults'}")
    line(bool(cfg.url), f"server URL: {cfg.url or 'not set (RIGHTSIZER_URL)'}")
    line(
        bool(cfg.token),
        "agent token: " + (f"{cfg.token[:12]}…" if cfg.token else "not set (RIGHTSIZER_TOKEN)"),
    )
    if cfg.url:
        base = cfg.url.rstrip("/").removesuffix("/api/v1/ingest")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:  # noqa: S310
                line(resp.status == 200, f"server reachable: {base} answered {resp.status}")
        except OSError as exc:
            line(False, f"server reachable: {base} did not answer ({exc})")
        if cfg.token:
            # An empty batch costs nothing: a valid token gets 400 (empty body), a bad one 401.
            result = Pusher(cfg.url, cfg.token).push(b"")
            valid = result.outcome in (ACCEPTED, REJECTED)
            line(valid, "token accepted by the server" if valid else f"token: {result.message}")
    nvml = Nvml()
    if nvml.available:
        line(True, f"NVIDIA driver {nvml.driver_version}: {len(nvml.handles)} GPU(s)")
    else:
        line(None, f"no GPUs sampled ({nvml.reason}); host metrics only")
    scrapers = build_scrapers(cfg)
    if not scrapers:
        line(None, "no inference servers configured or discovered")
    for scraper in scrapers:
        reading = scraper.scrape()
        line(reading is not None, f"{scraper.server_id} at {scraper.url}: "
             + (f"{len(reading) - 1} metrics, model {scraper.info.get('model', 'unknown')}" if reading
                else f"no answer ({scraper.error})"))  # fmt: skip
    for ok, what in spool_lines(cfg.state_dir / "spool"):
        line(ok, what)
    if as_json:  # for configuration management: one object, the exit status as without --json
        json.dump({"ok": not problems, "version": __version__, "checks": results}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 1 if problems else 0


def spool_lines(spool_dir: Path) -> list[tuple[bool | None, str]]:
    from collectors.spool import report

    r = report(spool_dir)
    lines: list[tuple[bool | None, str]] = [
        (None, f"spool {spool_dir}: {r['waiting']} batch(es) waiting"),
        (None, f"spool: {r['dropped']} batch(es) dropped ({r['dropped_bounds']} past the size or age bound, "
               f"{r['dropped_disk_full']} for a full disk, {r['dropped_memory']} from memory while the disk "
               "took no writes)"),
        (None, f"spool: {r['failed']} batch(es) the server kept failing on (5xx) while it took others, set "
               f"aside in {r['failed_dir']} with its answer beside each"),
        (None, f"spool: {r['rejected']} batch(es) the server refused (4xx), set aside in {r['rejected_dir']}"),
    ]  # fmt: skip
    if r["write_errors"]:
        lines.append((None, f"spool: {r['write_errors']} failed write(s) so far (disk full or read-only)"))
    if spool_dir.exists() and not os.access(spool_dir, os.W_OK):
        lines.append((False, f"spool {spool_dir} is not writable by this user: batches would live in memory only"))
    return lines


def cmd_simulate(cfg: AgentConfig, args: argparse.Namespace) -> int:
    from collectors.simulate import ARCHETYPES, simulate

    cfg.require_server()
    hosts = len(ARCHETYPES) if args.hosts is None else args.hosts  # the default: one host per archetype
    sent = simulate(Pusher(cfg.url, cfg.token), hosts=hosts, days=args.days, step_s=args.step, seed=args.seed)
    print(f"pushed {sent['batches']} batches, {sent['samples']} samples for {hosts} simulated hosts")
    return 0 if sent["errors"] == 0 else 1


def common_options() -> argparse.ArgumentParser:
    """Options every command takes, before or after its name (`rightsizer-agent run --sample-interval 1`).
    SUPPRESS: an option given in neither place is absent, so the one given first is not overwritten."""
    c = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    c.add_argument("--config", type=Path, help="TOML config file (default /etc/rightsizer/agent.toml)")
    c.add_argument("--url", help="server URL, e.g. https://rightsizer.example.com")
    c.add_argument("--token", help="agent token (prefer RIGHTSIZER_TOKEN or a token_file)")
    c.add_argument("--state-dir", dest="state_dir", help="spool and machine id (default /var/lib/rightsizer-agent)")
    c.add_argument("--host-id", dest="host_id", help="send this instead of /etc/machine-id (cloned images)")
    c.add_argument("--sample-interval", dest="sample_interval_s", type=float, help="seconds (default 5)")
    c.add_argument("--push-interval", dest="push_interval_s", type=float, help="seconds (default 30)")
    c.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR")
    c.add_argument("--log-format", choices=["json", "kv"], help="json (default; RIGHTSIZER_LOG_FORMAT) or kv")
    return c


def parser() -> argparse.ArgumentParser:
    common = common_options()
    p = argparse.ArgumentParser(prog="rightsizer-agent", description="Rightsizer's host agent.", parents=[common])
    p.add_argument("--version", action="version", version=f"rightsizer-agent {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", parents=[common], help="sample and push until stopped (the daemon)")
    once = sub.add_parser("once", parents=[common], help="take one sample and print it as JSON; needs no server")
    once.add_argument("--print", action="store_true", help=argparse.SUPPRESS)  # it always prints; kept for old scripts
    check = sub.add_parser("check", parents=[common],
                           help="check configuration, server, token, GPUs and inference servers")  # fmt: skip
    check.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    sim = sub.add_parser("simulate", parents=[common], help="push a synthetic fleet's history through the push path")
    sim.add_argument("--hosts", type=int, default=None,
                     help="simulated hosts, at least one per archetype (default: one per archetype)")  # fmt: skip
    sim.add_argument("--days", type=float, default=2.0)
    sim.add_argument("--step", type=float, default=300.0, help="seconds between simulated samples")
    sim.add_argument("--seed", type=int, default=1)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    level = getattr(args, "log_level", None) or os.environ.get("RIGHTSIZER_LOG_LEVEL") or "INFO"
    _configure_logging(level, getattr(args, "log_format", None) or os.environ.get("RIGHTSIZER_LOG_FORMAT") or "json")
    names = ("url", "token", "state_dir", "host_id", "sample_interval_s", "push_interval_s")
    flags = {k: getattr(args, k, None) for k in names}
    try:
        cfg = load(flags, path=getattr(args, "config", None))
        if args.command == "run":
            return cmd_run(cfg)
        if args.command == "once":
            return cmd_once(cfg)
        if args.command == "check":
            return cmd_check(cfg, as_json=args.json)
        return cmd_simulate(cfg, args)
    except ConfigError as exc:
        print(f"rightsizer-agent: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"rightsizer-agent: {exc}: set --state-dir to a folder this user may write", file=sys.stderr)
        return 2


def _configure_logging(level: str, fmt: str) -> None:
    """One JSON object per event on stderr, like the server's logs (or key=value lines)."""
    from collectors.jsonlog import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    if fmt.strip().lower() == "kv":
        handler.setFormatter(logging.Formatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])


if __name__ == "__main__":
    sys.exit(main())
