"""Generated advice reads as plain English: counted words agree with their number ("1 GPU", "2 GPUs"),
never "GPU(s)"."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

from django.conf import settings

from recommender.plan import Config, Schedule, plural
from tests.recommender.windows import H100

ROOT = Path(settings.BASE_DIR)
# The modules whose strings people read: advice, plans, host summaries, alerts, dashboard pages.
TEXT_SOURCES = [
    *sorted((ROOT / "recommender" / "rules").glob("*.py")),
    ROOT / "recommender" / "plan.py",
    ROOT / "recommender" / "summary.py",
    ROOT / "recommender" / "management" / "commands" / "analyze.py",
    *sorted((ROOT / "alerts").rglob("*.py")),
    *sorted((ROOT / "dashboard").rglob("*.py")),
    *sorted((ROOT / "dashboard" / "templates").rglob("*.html")),
]


def test_plural_agrees_with_the_number():
    assert plural(1, "GPU") == "1 GPU"
    assert plural(2, "GPU") == "2 GPUs"
    assert plural(0, "replica") == "0 replicas"
    assert plural(1.0, "replica") == "1 replica"
    assert plural(1.5, "replica") == "1.5 replicas"


def test_a_schedule_of_one_peak_replica_says_replica_once():
    config = Config(H100, 1, 2, "bf16", 4.76, "list", False, 1.0, schedule=Schedule(1, 0, (9, 10, 11)))
    assert config.describe() == "1 replica × 1 H100 80GB during 09:00–12:00 UTC, 0 replicas otherwise at bf16"
    assert Config(H100, 2, 1, "", 4.76, "list", False, 1.0, spare_gpus=1).describe() == (
        "1 replica × 2 H100 80GB, plus 1 GPU serving nothing"
    )


def texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each string literal in a Python module (code such as `f(s)` is not text), or of
    each line of a template."""
    if path.suffix != ".py":
        return list(enumerate(path.read_text().splitlines(), 1))
    with path.open("rb") as f:
        strings = [(t.start[0], t.string) for t in tokenize.tokenize(f.readline) if t.type == tokenize.STRING]
    return [(n, re.sub(r"\{[^{}]*\}", "", text)) for n, text in strings]  # an f-string's {code} is not text


def test_no_text_hedges_a_plural_with_parentheses():
    hedged = re.compile(r"[A-Za-z]\(s\)")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in TEXT_SOURCES for n, text in texts(p) if hedged.search(text)]
    assert not found, f"write plural(n, word) instead of word(s): {found}"
