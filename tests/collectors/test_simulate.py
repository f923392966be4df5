"""The simulator, pushed through the agent's push path into a real ingest server."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest

from collectors.cli import parser
from collectors.push import Pusher
from collectors.simulate import (
    ARCHETYPES,
    GPU_TYPES,
    LLM_KINDS,
    MODEL_SHAPES,
    _server_shape,
    decode_tps_per_sequence,
    inventory,
    sample,
    simulate,
)
from recommender import memory, planner
from recommender.catalog import match_gpu_type, match_model
from recommender.models import GpuType, ModelSpec


def test_a_simulated_fleet_lands_with_every_archetype(ingest_server):
    hosts = len(ARCHETYPES)
    # Yesterday 06:00–18:00 UTC: the window holds the simulated daily peak whenever the test runs.
    end = (time.time() // 86400) * 86400 - 6 * 3600
    sent = simulate(Pusher(ingest_server.url, ingest_server.token), hosts=hosts, days=0.5, step_s=600, end=end)
    assert sent["errors"] == 0 and sent["samples"] == hosts * 72
    rows = ingest_server.query("SELECT hostname, labels FROM telemetry_host")
    assert len(rows) == hosts
    assert all(json.loads(labels)["simulated"] == "true" for _, labels in rows)
    deployments = {json.loads(labels)["deployment"] for _, labels in rows}
    assert deployments == {a.name for a in ARCHETYPES}

    # The cases the recommender must tell apart are in the data.
    def gpu_stat(deployment: str, expr: str) -> float:
        return ingest_server.query(
            f"SELECT {expr} FROM telemetry_gpusample g JOIN telemetry_gpu u ON u.id = g.gpu_id "
            f"JOIN telemetry_host h ON h.id = u.host_id WHERE h.labels LIKE '%\"{deployment}\"%'"
        )[0][0]

    def server_stat(deployment: str, expr: str) -> float:
        return ingest_server.query(
            f"SELECT {expr} FROM telemetry_serversample s JOIN telemetry_inferenceserver i ON i.id = s.server_id "
            f"JOIN telemetry_host h ON h.id = i.host_id WHERE h.labels LIKE '%\"{deployment}\"%'"
        )[0][0]

    assert gpu_stat("idle-gpu", "max(util_pct)") < 5  # idle, yet holding memory:
    assert gpu_stat("idle-gpu", "min(mem_used_bytes)") > 60 * 1024**3
    assert server_stat("saturated", "max(kv_cache_pct)") > 95 and server_stat("saturated", "max(waiting)") > 30
    assert (
        server_stat("batching-limited", "max(waiting)") > 10
        and server_stat("batching-limited", "max(kv_cache_pct)") < 20
    )
    assert gpu_stat("llama70b-bf16", "count(DISTINCT gpu_id)") == 4
    assert (
        ingest_server.query(
            "SELECT count(*) FROM telemetry_gpu u JOIN telemetry_host h ON h.id = u.host_id "
            "WHERE h.labels LIKE '%cpu-only%'"
        )[0][0]
        == 0
    )


def host_samples(name: str, days: float = 1.0, step_s: float = 300.0, seed: int = 7) -> list[dict]:
    """One archetype's samples over `days`, as simulate() makes them (one energy meter for the host)."""
    h, arch = next((h, a) for h, a in enumerate(ARCHETYPES) if a.name == name)
    inv, rng, energy = inventory(h, arch), random.Random(seed), {}
    end = 86400 * 20_000  # midnight UTC: a whole day of the diurnal cycle
    return [
        sample(end - (days * 86400) + i * step_s, inv, arch, rng, energy) for i in range(int(days * 86400 // step_s))
    ]


@pytest.mark.parametrize("arch", [a for a in ARCHETYPES if a.kind in LLM_KINDS and a.serves], ids=lambda a: a.name)
def test_llm_tokens_are_running_requests_at_the_planners_decode_rate(arch):
    _, shape, gpus, weights = _server_shape(arch)
    _, memory_bytes, _, bandwidth, _ = GPU_TYPES[arch.gpu]
    # Each decode step reads the weights and the KV cache in use: one sequence alone with the weights gets the
    # most, a batch that fills the whole KV pool the least.
    step = gpus * bandwidth * 1e9 * planner.DECODE_BANDWIDTH_EFFICIENCY
    fastest, slowest = step / weights, step / (weights + memory.kv_pool_bytes(memory_bytes, gpus, weights))
    for s in host_samples(arch.name):
        for server in s["servers"]:
            running, gen = server["running"], server["gen_tps"]
            per_sequence = decode_tps_per_sequence(arch, running, server["kv_cache_pct"])
            if running >= 1:  # below, the rounding of the readings outweighs the check
                assert gen == pytest.approx(running * per_sequence, rel=0.02)
            assert slowest <= per_sequence <= fastest
            assert server["requests_ps"] == pytest.approx(gen / arch.output_tokens, abs=1e-3)
            assert server["prompt_tps"] == pytest.approx(
                gen * arch.prompt_tokens / arch.output_tokens, rel=1e-3, abs=0.5
            )


def test_one_sequence_of_an_8b_model_on_an_l4_decodes_tens_of_tokens_a_second():
    servers = [srv for s in host_samples("low-traffic") for srv in s["servers"]]
    assert max(srv["running"] for srv in servers) < 2
    assert 2 < max(srv["gen_tps"] for srv in servers) < 40  # ≈ 11 tok/s per sequence, 1.3 sequences at most
    oversized = [srv for s in host_samples("oversized") for srv in s["servers"]]
    assert max(srv["gen_tps"] for srv in oversized) > 10 * max(srv["gen_tps"] for srv in servers)


def test_a_server_that_generates_no_tokens_reports_no_token_rates():
    servers = [srv for s in host_samples("triton-no-batching") for srv in s["servers"]]
    assert all("gen_tps" not in srv and "prompt_tps" not in srv for srv in servers)
    assert min(srv["requests_ps"] for srv in servers) > 10 and all(srv["batch_size"] <= 1 for srv in servers)
    assert all(srv["queue_time_ms"] > 0 for srv in servers)


def test_the_energy_counter_integrates_each_samples_power():
    samples = host_samples("chat-diurnal")
    for before, after in zip(samples, samples[1:], strict=False):
        for g0, g1 in zip(before["gpus"], after["gpus"], strict=True):
            used = g1["energy_j"] - g0["energy_j"]
            assert used == pytest.approx(g1["power_w"] * (after["ts"] - before["ts"]), abs=0.2)
    per_step = [b["gpus"][0]["energy_j"] - a["gpus"][0]["energy_j"] for a, b in zip(samples, samples[1:], strict=False)]
    assert max(per_step) > 2 * min(per_step)  # night and day differ


def test_a_saturated_servers_queue_time_and_preemptions_follow_its_load():
    servers = [srv for s in host_samples("saturated") for srv in s["servers"]]
    queue = [srv["queue_time_ms"] for srv in servers]
    preempted = [srv["preempted"] for srv in servers]
    assert len(set(queue)) > 50 and max(queue) > 1.1 * min(queue) and min(queue) > 0
    assert len(set(preempted)) >= 3 and min(preempted) >= 0
    for srv in servers:  # Little's law
        assert srv["queue_time_ms"] == pytest.approx(1000 * srv["waiting"] / srv["requests_ps"], rel=0.01)
    by_kv = sorted(servers, key=lambda srv: srv["kv_cache_pct"])
    tenth = len(by_kv) // 10
    assert sum(srv["preempted"] for srv in by_kv[:tenth]) < sum(srv["preempted"] for srv in by_kv[-tenth:])


def test_the_same_seed_makes_the_same_data():
    assert host_samples("saturated", days=0.2) == host_samples("saturated", days=0.2)
    assert host_samples("saturated", days=0.2) != host_samples("saturated", days=0.2, seed=8)


def test_fewer_hosts_than_archetypes_is_refused_naming_the_missing_ones():
    with pytest.raises(SystemExit, match="user-priced") as refused:
        simulate(Pusher("http://127.0.0.1:9", "token"), hosts=len(ARCHETYPES) - 1, days=0.01)
    assert "low-traffic" not in str(refused.value)
    assert parser().parse_args(["simulate"]).hosts is None  # cmd_simulate reads None as one host per archetype


@pytest.mark.django_db
def test_the_simulated_gpus_and_models_are_the_catalogs():
    types = list(GpuType.objects.all())
    for key, (nvml_name, memory_bytes, _, bandwidth, tflops) in GPU_TYPES.items():
        catalog = match_gpu_type(nvml_name, memory_bytes, types)
        assert catalog is not None, key
        assert (catalog.memory_bandwidth_gbps, catalog.tflops_16bit) == (bandwidth, tflops), key
    specs = list(ModelSpec.objects.all())
    for model, shape in MODEL_SHAPES.items():
        assert match_model(model, specs).shape == shape, model
    assert {a.model for a in ARCHETYPES if a.kind in LLM_KINDS} <= set(MODEL_SHAPES)


def test_an_agent_installed_alone_is_told_the_simulator_needs_the_server_extra():
    """The decode rates are the planner's, whose thresholds need pydantic: without it, a clear refusal."""
    code = (
        "import sys; sys.modules['pydantic'] = None\n"
        "from collectors.cli import main\n"
        "sys.exit(main(['simulate', '--url', 'http://127.0.0.1:9', '--token', 'rsa_x', '--days', '0.01']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "pip install '.[server]'" in done.stderr, done.stderr
