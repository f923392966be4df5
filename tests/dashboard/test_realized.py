"""Acknowledging a recommendation, then its page's before and after and the fleet's realized saving card."""

from __future__ import annotations

import time_machine
from django.urls import reverse

from recommender.models import Recommendation
from tests.recommender import history


def _text(resp) -> str:
    assert resp.status_code == 200
    return " ".join(resp.content.decode().split())


def test_an_acknowledged_recommendation_shows_what_it_realized_and_the_fleet_counts_it(as_admin):
    history.chat_deployment()  # 4 H100s ($2/GPU-h) until Nov 26 10:00; from 11:00 chat-2 is gone
    rec = Recommendation.objects.create(kind="scale_down", target_type="deployment", target_key="deployment:chat",
                                        target_label="chat", deployment="chat", title="Scale chat down", reason="r",
                                        confidence=0.8, saving_usd_month=2920.0)  # fmt: skip
    page = reverse("dashboard:recommendation", args=[rec.pk])
    assert "before-after" not in _text(as_admin.get(page))  # nothing to compare before an acknowledgement
    with time_machine.travel(history.nov(26, 10, 20), tick=False):
        as_admin.post(reverse("dashboard:recommendation-status", args=[rec.pk]), {"action": "acknowledge"})
    rec.refresh_from_db()
    assert rec.status == "acknowledged" and rec.acknowledged_at == history.nov(26, 10, 20)

    with time_machine.travel(history.nov(26, 15, 5), tick=False):  # 4 whole hours since: too early
        html = _text(as_admin.get(page))
    assert "Too early: 4 hours of data after" in html and "realized <b>" not in html

    with time_machine.travel(history.day(3, 12, 30), tick=False):
        html = _text(as_admin.get(page))
        fleet = _text(as_admin.get(reverse("dashboard:home")))
    # 4 GPUs × $2 × 730 h before, 2 after; 1.2 kW then 0.8 kW × 730 h
    assert '<td class="num">$5,840</td><td class="num">$2,920</td><td class="num">−$2,920</td>' in html
    assert "876.0 kWh" in html and "584.0 kWh" in html and "200.0 tokens/s" in html
    assert "Promised $2,920/month, realized <b>$2,920/month</b> so far." in html
    assert "the deployment's 2 hosts" in html and "the 168 hours before against the 168 hours since" in html
    # December until Dec 3 12:00 is 60 hours: chat-1 ($4/h) still runs, chat-2 ($4/h) stopped: 4 × 60 = $240
    card = fleet[fleet.index('id="fleet-realized"') :][:400]
    assert "<b>$240</b>" in card and "1 acted-on recommendation, 2 hosts" in card
