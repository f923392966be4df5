"""rightsizer-agent: run | once --print | check | simulate."""

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


def build_scrapers(cfg: AgentConfig) -> list:
    """Configured endpoints, plus discovered servers on other ports (discovery fills in
    model, dtype, … and the pid for a configured endpoint on the same port)."""
    from collectors.scrapers import Scraper
    from collectors.scrapers.discovery import discover

    by_port: dict[int, Scraper] = {}
    for server in cfg.servers:
        port = urllib.parse.urlsplit(server["url"]).port or 80
        by_port[port] = Scraper(f"{server['kind']}:{port}", server["kind"], server["url"])
    for found in discover() if cfg.discover else []:
        port = found["port"]
        if port in by_port:
            by_port[port].info.update(found)
        else:
            url = f"http://127.0.0.1:{port}/metrics"
            by_port[port] = Scraper(f"{found['kind']}:{port}", found["kind"], url, info=dict(found))
    return list(by_port.values())


def cmd_run(cfg: AgentConfig) -> int:
    from collectors.agent import Agent, Drainer, Sampler
    from collectors.spool import Spool

    cfg.require_server()
    spool = Spool(cfg.state_dir / "spool", int(cfg.spool_max_mb * 1024**2), cfg.spool_max_age_days * 86400)
    sampler = Sampler(cfg.state_dir, cfg.labels, cfg.instance_type, build_scrapers(cfg), host_id=cfg.host_id)
    drainer = Drainer(spool, Pusher(cfg.url, cfg.token), max_5xx=cfg.spool_max_5xx,
                      hostname=sampler.host["hostname"])  # fmt: skip
    agent = Agent(sampler, spool, drainer, cfg.sample_interval_s, cfg.push_interval_s)
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


def cmd_check(cfg: AgentConfig) -> int:
    problems = 0

    def line(ok: bool | None, what: str) -> None:
        nonlocal problems
        mark = {True: "ok  ", False: "FAIL", None: "info"}[ok]
        problems += ok is False
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
                else "no answer"))  # fmt: skip
    for ok, what in spool_lines(cfg.state_dir / "spool"):
        line(ok, what)
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
    from collectors.simulate import simulate

    cfg.require_server()
    sent = simulate(Pusher(cfg.url, cfg.token), hosts=args.hosts, days=args.days,
                    step_s=args.step, seed=args.seed)  # fmt: skip
    print(f"pushed {sent['batches']} batches, {sent['samples']} samples for {args.hosts} simulated hosts")
    return 0 if sent["errors"] == 0 else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rightsizer-agent", description="Rightsizer's host agent.")
    p.add_argument("--config", type=Path, help="TOML config file (default /etc/rightsizer/agent.toml)")
    p.add_argument("--url", help="server URL, e.g. https://rightsizer.example.com")
    p.add_argument("--token", help="agent token (prefer RIGHTSIZER_TOKEN or a token_file)")
    p.add_argument("--state-dir", dest="state_dir", help="spool and machine id (default /var/lib/rightsizer-agent)")
    p.add_argument("--host-id", dest="host_id", help="send this instead of /etc/machine-id (cloned images)")
    p.add_argument("--sample-interval", dest="sample_interval_s", type=float)
    p.add_argument("--push-interval", dest="push_interval_s", type=float)
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="sample and push until stopped (the daemon)")
    once = sub.add_parser("once", help="take one sample and print it; needs no server")
    once.add_argument("--print", action="store_true", required=True, help="print the batch as JSON")
    sub.add_parser("check", help="check configuration, server, token, GPUs and inference servers")
    sim = sub.add_parser("simulate", help="push a synthetic fleet's history through the push path")
    sim.add_argument("--hosts", type=int, default=12)
    sim.add_argument("--days", type=float, default=2.0)
    sim.add_argument("--step", type=float, default=300.0, help="seconds between simulated samples")
    sim.add_argument("--seed", type=int, default=1)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")  # fmt: skip
    names = ("url", "token", "state_dir", "host_id", "sample_interval_s", "push_interval_s")
    flags = {k: getattr(args, k) for k in names}
    try:
        cfg = load(flags, path=args.config)
        if args.command == "run":
            return cmd_run(cfg)
        if args.command == "once":
            return cmd_once(cfg)
        if args.command == "check":
            return cmd_check(cfg)
        return cmd_simulate(cfg, args)
    except ConfigError as exc:
        print(f"rightsizer-agent: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"rightsizer-agent: {exc}: set --state-dir to a folder this user may write", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
