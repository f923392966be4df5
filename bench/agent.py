"""Agent overhead: its own CPU and peak memory while sampling 8 GPUs (fake NVML).

Runs the real agent (sampler, spool, push thread) in a child process for
--duration seconds at each sampling interval, pushing every 30 s to a local
HTTP receiver that answers 202, and reads the child's CPU time and peak RSS.

    python bench/agent.py --duration 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.receivers import http_receiver  # noqa: E402


def child(interval_s: float, url: str, state: str) -> None:
    sys.path.insert(0, str(ROOT))
    from collectors.agent import Agent, Drainer, Sampler
    from collectors.nvml import Nvml
    from collectors.push import Pusher
    from collectors.spool import Spool
    from tests.collectors.fake_nvml import FakeGpu, make_module

    nvml = Nvml(make_module([FakeGpu(f"GPU-bench-{i}") for i in range(8)]))
    sampler = Sampler(Path(state), {"deployment": "bench"}, nvml=nvml)
    spool = Spool(Path(state) / "spool")
    agent = Agent(sampler, spool, Drainer(spool, Pusher(url, "rsa_bench")), interval_s, 30.0)
    import signal

    signal.signal(signal.SIGTERM, agent.stop)
    agent.run()


def accept(bodies: list[int]):
    def answer(request) -> tuple[int, bytes, dict[str, str]]:
        bodies.append(len(request.body))
        return 202, json.dumps({"accepted": 1, "duplicates": 0}).encode(), {}

    return answer


def measure(interval_s: float, duration_s: float, url: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as state:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(interval_s), url, state], cwd=ROOT)
        p = psutil.Process(proc.pid)
        time.sleep(3)  # imports and NVML set-up are not the steady cost
        cpu0, t0, peak = sum(p.cpu_times()[:2]), time.monotonic(), 0
        while time.monotonic() - t0 < duration_s:
            peak = max(peak, p.memory_info().rss)
            time.sleep(0.5)
        cpu = sum(p.cpu_times()[:2]) - cpu0
        elapsed = time.monotonic() - t0
        proc.terminate()
        proc.wait(30)
    return {"cpu_pct_of_one_core": 100 * cpu / elapsed, "peak_rss_mb": peak / 1024**2}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    bodies: list[int] = []
    with http_receiver(accept(bodies)) as url:
        for interval in (1.0, 5.0):
            result = measure(interval, args.duration, url)
            print(f"sample_interval_s={interval:g} gpus=8 duration_s={args.duration:g} "
                  f"cpu={result['cpu_pct_of_one_core']:.2f}% of one core  peak_rss={result['peak_rss_mb']:.1f} MB",
                  flush=True)  # fmt: skip
    print(f"pushes received={len(bodies)} mean_body_bytes={sum(bodies) / max(1, len(bodies)):.0f}")


if __name__ == "__main__":
    main()
