"""Properties of the advice over generated deployments and fleets (hypothesis): what an expert checks before
reading a word of it."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from recommender.findings import Finding
from recommender.precisions import ACTIONS
from recommender.rules import batching, deployment_plan, host_rightsize, resolve, saturation
from tests.recommender.windows import CATALOG, CTX, LLAMA_8B, LLAMA_70B, deployment, gpu, host, server

# The values each server accepts for the flags the advice names (vLLM --quantization, TGI --quantize,
# SGLang --quantization, TensorRT-LLM quantize.py --qformat), from their documentation.
VALID = {
    "vllm": {
        "--quantization": {
            "fp8",
            "awq",
            "awq_marlin",
            "gptq",
            "gptq_marlin",
            "compressed-tensors",
            "bitsandbytes",
            "fbgemm_fp8",
            "modelopt",
        }
    },
    "tgi": {
        "--quantize": {
            "awq",
            "eetq",
            "exl2",
            "gptq",
            "marlin",
            "bitsandbytes",
            "bitsandbytes-nf4",
            "bitsandbytes-fp4",
            "fp8",
        }
    },
    "sglang": {
        "--quantization": {
            "fp8",
            "awq",
            "awq_marlin",
            "gptq",
            "gptq_marlin",
            "w8a8_int8",
            "w8a8_fp8",
            "compressed-tensors",
        }
    },
    "triton": {"--qformat": {"fp8", "int8_sq", "int4_awq", "w4a8_awq", "int8_wo", "int4_wo"}},
}
FLAG = re.compile(r"(--[a-z-]+)[ =]([a-z0-9_-]+)")


@st.composite
def deployments(draw):
    kind = draw(st.sampled_from(CATALOG))
    model = draw(st.sampled_from([LLAMA_8B, LLAMA_70B, None]))
    server_kind = draw(st.sampled_from(["vllm", "tgi", "sglang", "triton"]))
    per = draw(st.sampled_from([1, 2, 4, 8]))
    n_hosts = draw(st.integers(1, 4))
    util = draw(st.floats(0.0, 100.0))
    kv = draw(st.one_of(st.floats(0.0, 40.0), st.floats(0.0, 100.0)))
    price = draw(st.one_of(st.none(), st.floats(0.05, 20.0)))
    hosts, gid, name = [], 1, f"dep-{draw(st.integers(0, 10**9))}"
    for h in range(1, n_hosts + 1):
        ids = list(range(gid, gid + per))
        gid += per
        gpus = [
            gpu(
                i,
                util=[util],
                kind=kind,
                index=i - ids[0],
                mem_used_gib=kind.memory_bytes / 1024**3 * 0.9,
                price=price,
                power=kind.tdp_w * (0.2 + 0.007 * util),
            )
            for i in ids
        ]
        servers = (
            [
                server(
                    h,
                    gpu_ids=ids,
                    kind=server_kind,
                    model=model,
                    kv=[kv],
                    tp=per,
                    waiting=draw(st.sampled_from([0.0, 0.0, 0.0, 0.5, 3.0])),
                    at_limit=draw(st.sampled_from([None, 0.0, 0.0, 0.1, 0.6])),
                )
            ]
            if model
            else []
        )
        hosts.append(host(gpus=gpus, servers=servers, host_id=h, cpu=[draw(st.floats(0.0, 100.0))], deployment=name))
    # Mostly light loads (where the sizing steps have something to say), some up to every GPU pinned.
    shares = draw(st.lists(st.floats(0.0, 1.0), min_size=24, max_size=24))
    profile = [100.0 * per * n_hosts * x**3 for x in shares]
    return deployment(hosts, profile, name=name)


def findings_for(dep) -> list[Finding]:
    out = [f for h in dep.hosts for rule in (batching, host_rightsize, saturation) for f in rule.check(h, CTX)]
    return resolve(out + deployment_plan.check(dep, CTX))


def _fewest_replicas(config: dict) -> int:
    return (config.get("schedule") or {}).get("off_replicas", config["replicas"])


def check_plan(dep, findings: list[Finding]) -> None:
    steps = sorted((f for f in findings if f.plan_step), key=lambda f: f.plan_step)
    assert [f.plan_step for f in steps] == list(range(1, len(steps) + 1))
    for before, after in zip(steps, steps[1:], strict=False):
        assert after.current == before.proposed  # each step starts where the previous one ended
    for f in steps:
        assert f.proposed["usd_month"] <= f.current["usd_month"]  # no step costs more than its start
        assert round(f.current["usd_month"] - f.proposed["usd_month"], 2) == f.saving.usd  # to the cent
        assert round(f.current["kwh_month"] - f.proposed["kwh_month"], 1) == f.saving.kwh  # signed, not clipped
        assert f.proposed["gpus_per_replica"] <= 8  # a replica stays within one node
        # The replica floor: 2 at every hour where the deployment ran 2 or more at every hour. A step
        # after a schedule starts from its peak count, so the floor is read from where the plan began.
        if f.kind != "idle" and _fewest_replicas(steps[0].current) >= 2:
            assert _fewest_replicas(f.proposed) >= 2
    if steps:
        assert sum(f.saving.usd for f in steps) <= steps[0].current["usd_month"] + 0.01


def check_flags(dep, findings: list[Finding]) -> None:
    kinds = {s.kind for h in dep.hosts for s in h.servers}
    for f in findings:
        if f.kind != "quantize":
            continue
        (kind,) = kinds
        for flag, value in FLAG.findall(f.action):
            if flag in VALID[kind]:
                assert value in VALID[kind][flag], (kind, f.action)


def check_batching(dep, findings: list[Finding]) -> None:
    if any(f.kind == "batching" for f in findings):
        assert not [f for f in findings if f.plan_step and f.kind != "idle"]  # sized once the limit is raised
    for f in findings:
        if f.kind != "batching":
            continue
        s = next(s for h in dep.hosts for s in h.servers if f.target_key.endswith(s.key))
        assert s.waiting_p95_hourly >= 1 or (s.at_limit_share or 0) >= 0.25  # the limit binds


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deployments())
def test_every_plan_keeps_its_contract(dep):
    findings = findings_for(dep)
    event(" + ".join(sorted({f.kind for f in findings})) or "no advice")
    check_plan(dep, findings)
    check_flags(dep, findings)
    check_batching(dep, findings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(deployments(), min_size=1, max_size=5))
def test_a_fleets_savings_never_exceed_its_cost(deps):
    cost = saving = 0.0
    for dep in deps:
        findings = findings_for(dep)
        first = [f for f in findings if f.plan_step == 1]
        cost += first[0].current["usd_month"] if first else 0.0
        saving += sum(f.saving.usd for f in findings if f.plan_step)
    assert saving <= cost + 0.01


def test_every_precision_action_names_a_value_its_server_accepts():
    for kind, actions in ACTIONS.items():
        for text in actions.values():
            named = [(flag, value) for flag, value in FLAG.findall(text) if flag in VALID[kind]]
            assert all(value in VALID[kind][flag] for flag, value in named), (kind, text)
            assert named or "compressed-tensors" in text, (kind, text)
