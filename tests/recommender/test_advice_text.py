"""The batching and quantize advice as an MLOps engineer reads it: figures that agree with their own
arithmetic, units on every count, the server named once and properly, sources outside nested brackets,
alternatives that differ in something, and the saving's arithmetic as whole steps."""

from __future__ import annotations

import re

from recommender.precisions import PRECISIONS
from recommender.rules import batching
from recommender.savings import arithmetic, steps_of
from tests.recommender.test_rules import _fleet, plan
from tests.recommender.windows import A100, CTX, H100, LLAMA_70B, gpu, host, server


def _depth(text: str) -> int:
    """The deepest bracket nesting in `text`."""
    depth = deepest = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        deepest = max(deepest, depth)
    return deepest


def test_batching_room_is_the_true_ratio_of_the_printed_figures_and_the_queue_has_its_unit():
    h = host(gpus=[gpu(util=[30.0])], servers=[server(kv=[10.0], waiting=5.0, max_batch=4)])
    (f,) = batching.check(h, CTX)
    room = re.search(r"p95 ([\d.]+)%, has room for ([\d.]+)× the batch under its 50% line", f.reason)
    assert room and float(room.group(2)) == round(50 / float(room.group(1)), 1)
    assert "about" not in f.reason and f.reason.startswith("5.0 requests waiting (p95 of hourly means) while")
    assert f.title == "Batch more on vllm:8001 on node-1"  # the id names the kind: no "(vllm)"
    assert f.action.startswith("On vLLM server vllm:8001, raise --max-num-seqs from 4 to 16;")


def test_triton_batching_says_its_queue_with_a_unit_and_its_name_properly():
    triton = host(
        gpus=[gpu(util=[25.0], mem_used_gib=3)],
        servers=[server(kind="triton", model=None, kv=(), waiting=4.0, max_batch=1, at_limit=0.5)],
    )
    (f,) = batching.check(triton, CTX)
    assert f.reason.startswith("4.0 requests waiting (p95 of hourly means) and the server runs at its limit")
    assert "(triton)" not in f.title and f.action.startswith("On Triton server triton:8001, set max_batch_size")


def test_quantize_names_its_precision_once_sources_apart_and_the_server_properly():
    (f,) = plan(_fleet(4, kind=H100, util=40, model=LLAMA_70B, tp=4, kv=25.0), 160.0)
    assert f.reason.count("FP8 (W8A8)") == 1
    assert "a replica then fits 2 GPUs instead of 4 and carries 1.4× the load per GPU." in f.reason
    assert "Throughput source: vLLM docs on FP8 W8A8" in f.reason
    assert "effectively lossless in accuracy" in f.reason and "typically under 1%" not in f.reason
    assert _depth(f.reason) == 1 and _depth(f.action) == 1
    assert f.action.startswith("On vLLM server vllm:8001, add `--quantization fp8`")
    assert f.alternatives == []  # INT8 and AWQ cost the same here and lose more accuracy: nothing to add


def test_every_precision_source_and_risk_holds_no_bracket_inside_a_bracket():
    for prec in PRECISIONS:
        assert _depth(prec.source) == 0 and _depth(prec.risk) <= 1 and prec.differs, prec.key
    assert all("%" not in p.risk or "accuracy" in p.risk for p in PRECISIONS)  # a percentage says of what


def test_an_equal_cost_precision_is_no_alternative_and_a_listed_one_says_what_differs():
    (f,) = plan(_fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4, kv=25.0), 120.0)
    assert f.kind == "quantize" and "INT8 (W8A8)" in f.title
    assert f.alternatives == []  # INT4 costs the same on this GPU and loses more
    (f,) = plan(_fleet(4, kind=H100, util=10, model=LLAMA_70B, tp=4, kv=25.0), 40.0)
    assert f.proposed["dtype"] == "fp8" and f.alternatives
    for a in f.alternatives:
        assert a["usd_month"] < f.proposed["usd_month"], a["label"]
        assert a["label"].startswith("FP8 (W8A8) on ") or a["label"].endswith(": 1–3% accuracy loss"), a["label"]


def test_the_plan_arithmetic_is_whole_steps_none_a_dangling_factor():
    (f,) = plan(_fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4, kv=25.0), 120.0)
    steps = steps_of(f.saving.basis)
    assert len(steps) == 3 and steps[0].startswith("From ") and steps[1].startswith("To ")
    assert steps[2] == "Each priced at $2.45/GPU-h (A100 80GB), × 730 h a month."
    assert not [s for s in steps if s.startswith("×")]


def test_arithmetic_keeps_a_semicolon_inside_its_step():
    basis = arithmetic("today $1/h; proposed $0.5/h", "× 730 h a month")
    assert steps_of(basis) == ["today $1/h; proposed $0.5/h", "× 730 h a month"]
    assert steps_of("one sentence; with a semicolon") == ["one sentence; with a semicolon"]
