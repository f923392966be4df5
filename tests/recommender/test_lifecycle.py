"""One recommendation per (target, kind), updated in place, resolved, reopened, dismissed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommender.findings import Finding
from recommender.lifecycle import apply, set_status
from recommender.models import Recommendation
from recommender.savings import Saving

pytestmark = pytest.mark.django_db
T0 = timezone.now()


def finding(usd=100.0, kind="idle", key="gpu:GPU-1", reason="idle for 14 days") -> Finding:
    return Finding(kind=kind, target_type="gpu", target_key=key, target_label="GPU 0 on node-1", deployment="chat",
                   title=f"Idle: {key}", reason=reason, action="release it", evidence=[{"metric": "util"}],
                   saving=Saving(usd, 10.0, 4.0, "1 GPU × $x"), confidence=0.9)  # fmt: skip


def at(hours: float):
    return T0 + timedelta(hours=hours)


def test_a_finding_opens_one_recommendation_and_updates_it_in_place():
    assert apply([finding()], at(0))["opened"] == 1
    assert apply([finding(usd=120.0, reason="still idle")], at(1))["updated"] == 1
    rec = Recommendation.objects.get()
    assert (rec.status, rec.saving_usd_month, rec.reason) == ("open", 120.0, "still idle")
    assert rec.first_seen == at(0) and rec.last_seen == at(1)


def test_it_resolves_when_the_condition_stops_and_reopens_when_it_returns():
    apply([finding()], at(0))
    assert apply([], at(1))["resolved"] == 1
    rec = Recommendation.objects.get()
    assert rec.status == "resolved" and rec.resolved_at == at(1)
    assert apply([finding()], at(2))["reopened"] == 1
    rec.refresh_from_db()
    assert rec.status == "open" and rec.resolved_at is None and "holds again" in rec.status_reason
    assert Recommendation.objects.count() == 1


def test_a_dismissed_one_stays_dismissed_unless_the_saving_moves_materially(admin):
    apply([finding(usd=100.0)], at(0))
    set_status(Recommendation.objects.get(), "dismissed", admin, "reserved instance, already paid")
    apply([finding(usd=120.0)], at(1))  # +20%: not material at the default 25%
    rec = Recommendation.objects.get()
    assert rec.status == "dismissed" and rec.status_reason == "reserved instance, already paid"
    assert rec.saving_usd_month == 120.0
    apply([finding(usd=200.0)], at(2))
    rec.refresh_from_db()
    assert rec.status == "open" and "materially" in rec.status_reason


def test_a_dismissed_one_is_not_resolved_and_an_acknowledged_one_is(admin):
    apply([finding(key="gpu:A"), finding(key="gpu:B")], at(0))
    set_status(Recommendation.objects.get(target_key="gpu:A"), "dismissed", admin, "test rig")
    set_status(Recommendation.objects.get(target_key="gpu:B"), "acknowledged", admin)
    apply([], at(1))
    assert dict(Recommendation.objects.values_list("target_key", "status")) == {"gpu:A": "dismissed",
                                                                                 "gpu:B": "resolved"}  # fmt: skip


def test_dismissing_needs_a_reason_and_resolved_cannot_be_set_by_hand(admin):
    apply([finding()], at(0))
    rec = Recommendation.objects.get()
    with pytest.raises(ValueError, match="say why"):
        set_status(rec, "dismissed", admin, "  ")
    with pytest.raises(ValueError, match="cannot be set by hand"):
        set_status(rec, "resolved", admin)


def test_the_same_target_can_hold_different_kinds():
    apply([finding(kind="idle"), finding(kind="host_rightsize")], at(0))
    assert Recommendation.objects.count() == 2


def test_the_first_acknowledgement_is_kept_through_resolving_and_re_acknowledging(admin):
    apply([finding()], at(0))
    rec = set_status(Recommendation.objects.get(), "acknowledged", admin)
    first = rec.acknowledged_at
    assert first is not None and first == rec.status_changed_at
    apply([], at(1))  # resolved: the date it was acted on stays
    rec.refresh_from_db()
    assert rec.status == "resolved" and rec.acknowledged_at == first
    apply([finding()], at(2))  # reopened by the analysis, then acknowledged again
    set_status(Recommendation.objects.get(), "acknowledged", admin)
    rec.refresh_from_db()
    assert rec.status == "acknowledged" and rec.acknowledged_at == first < rec.status_changed_at
    set_status(rec, "open", admin)
    assert Recommendation.objects.get().acknowledged_at == first
