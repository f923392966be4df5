"""A recommendation's page and its deployment's plan as a person reads them: the arithmetic one whole step a
bullet, a time seen once when first and last seen agree, percentages written one way, and kind labels."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from recommender.rules import deployment_plan
from tests.dashboard import recs
from tests.recommender.test_rules import _fleet
from tests.recommender.windows import A100, CTX, LLAMA_70B, deployment

pytestmark = pytest.mark.django_db


def _items(page: str, list_id: str) -> list[str]:
    block = re.search(rf'<ul id="{list_id}">(.*?)</ul>', page, re.S).group(1)
    return [unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)]


def test_the_arithmetic_is_the_rule_s_steps_one_whole_step_a_bullet(as_viewer):
    (f,) = deployment_plan.check(
        deployment([_fleet(4, kind=A100, util=30, model=LLAMA_70B, tp=4, kv=25.0)], 120.0), CTX
    )
    # A step that holds "; " (two price labels) stays whole.
    basis = f.saving.basis.replace("Each priced at", "Each priced at today list; proposed")
    rec = recs.rec("quantize", "chat", 1, recs.SCALED, recs.QUANTIZED, saving_basis=basis)
    items = _items(as_viewer.get(f"/recommendations/{rec.pk}/").content.decode(), "saving-basis")
    assert len(items) == 3 and not [i for i in items if i.startswith("×")]
    assert items[0].startswith("From 1 replica × 4 A100 80GB at bf16: $7,154.00/month")
    assert items[2] == "Each priced at today list; proposed $2.45/GPU-h (A100 80GB), × 730 h a month."


def test_a_time_seen_once_is_shown_once_and_percentages_sit_on_their_number(as_viewer):
    now = timezone.now().replace(second=0, microsecond=0)
    ev = recs.util_evidence("gpu", 1)
    ev.update(value=99.64, threshold=25.0)
    rec = recs.rec("batching", "chat", first_seen=now, last_seen=now, evidence=[ev])
    page = as_viewer.get(f"/recommendations/{rec.pk}/").content.decode()
    seen = re.search(r'<dd id="rec-seen">(.*?)</dd>', page, re.S).group(1)
    assert seen.count("<time") == 1 and "–" not in seen
    row = re.search(r'<table id="evidence-table">.*?</table>', page, re.S).group(0)
    assert "99.64%" in row and "25.00%" in row and " %" not in row
    rec.first_seen = now - timedelta(days=1)
    rec.save()
    page = as_viewer.get(f"/recommendations/{rec.pk}/").content.decode()
    assert re.search(r'<dd id="rec-seen">(.*?)</dd>', page, re.S).group(1).count("<time") == 2


def test_the_plan_names_each_step_s_kind_in_words(as_viewer):
    recs.host("chat-0", "chat", gpus=8, usd_month=14600.0)
    recs.rec("scale_down", "chat", 1, recs.TODAY, recs.SCALED, title="Scale down chat")
    page = as_viewer.get("/deployments/chat/").content.decode()
    step = re.search(r'<li class="plan-step" id="step-1">.*?</li>', page, re.S).group(0)
    assert "Scale down · confidence 0.80" in step and "scale_down" not in step
