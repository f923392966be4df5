"""Findings → Recommendation rows: one per (target, kind), updated in place.

- a new finding opens a recommendation; a finding that returns reopens a resolved one;
- an open or acknowledged one whose finding is gone is resolved;
- a dismissed one stays dismissed, unless its saving moved by more than
  RECOMMENDER_MATERIAL_CHANGE since it was dismissed: then it reopens.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommender.findings import Finding
from recommender.models import Recommendation

log = logging.getLogger(__name__)
Status = Recommendation.Status
FIELDS = ["target_type", "target_label", "deployment", "host_id", "gpu_id", "title", "reason", "action", "evidence",
          "saving_usd_month", "saving_kwh_month", "saving_kg_co2_month", "saving_basis", "confidence",
          "current", "proposed", "alternatives", "plan_step"]  # fmt: skip


def _values(f: Finding) -> dict:
    return {
        "target_type": f.target_type, "target_label": f.target_label[:255], "deployment": f.deployment[:255],
        "host_id": f.host_id, "gpu_id": f.gpu_id, "title": f.title[:255], "reason": f.reason, "action": f.action,
        "evidence": f.evidence, "saving_usd_month": f.saving.usd, "saving_kwh_month": f.saving.kwh,
        "saving_kg_co2_month": f.saving.kg_co2, "saving_basis": f.saving.basis, "confidence": f.confidence,
        "current": f.current, "proposed": f.proposed, "alternatives": f.alternatives, "plan_step": f.plan_step,
    }  # fmt: skip


def material(before: float | None, after: float) -> bool:
    if before is None:
        return False
    return abs(after - before) > settings.RECOMMENDER_MATERIAL_CHANGE * max(abs(before), 1.0)


@transaction.atomic
def apply(findings: list[Finding], now: datetime) -> dict[str, int]:
    counts = {"opened": 0, "updated": 0, "reopened": 0, "resolved": 0}
    existing = {(r.target_key, r.kind): r for r in Recommendation.objects.select_for_update()}
    seen = set()
    new, changed = [], []
    for f in findings:
        key = (f.target_key, f.kind)
        if key in seen:  # one per (target, kind): the first (largest saving first) wins
            continue
        seen.add(key)
        rec = existing.get(key)
        if rec is None:
            new.append(Recommendation(kind=f.kind, target_key=f.target_key, first_seen=now, last_seen=now,
                                      **_values(f)))  # fmt: skip
            counts["opened"] += 1
            continue
        for name, value in _values(f).items():
            setattr(rec, name, value)
        rec.last_seen = now
        if rec.status == Status.RESOLVED or (
            rec.status == Status.DISMISSED and material(rec.dismissed_saving_usd, f.saving.usd)
        ):
            why = "its condition holds again" if rec.status == Status.RESOLVED else "its saving changed materially"
            rec.status, rec.status_reason, rec.status_changed_at = Status.OPEN, f"Reopened: {why}.", now
            rec.status_changed_by, rec.resolved_at = None, None
            counts["reopened"] += 1
        else:
            counts["updated"] += 1
        changed.append(rec)
    for key, rec in existing.items():
        if key not in seen and rec.status in (Status.OPEN, Status.ACKNOWLEDGED):
            rec.status, rec.resolved_at, rec.status_changed_at, rec.status_changed_by = Status.RESOLVED, now, now, None
            rec.status_reason = "Resolved: the condition no longer holds."
            changed.append(rec)
            counts["resolved"] += 1
    Recommendation.objects.bulk_create(new, batch_size=500)
    Recommendation.objects.bulk_update(
        changed, [*FIELDS, "last_seen", "status", "status_reason", "status_changed_at", "status_changed_by",
                  "resolved_at"], batch_size=500,
    )  # fmt: skip
    return counts


def set_status(rec: Recommendation, status: str, user=None, reason: str = "") -> Recommendation:
    """A person's action: acknowledge, dismiss (with a reason) or reopen. The first acknowledgement is kept
    in acknowledged_at whatever follows (recommender.realized compares before and after it)."""
    if status not in (Status.OPEN, Status.ACKNOWLEDGED, Status.DISMISSED):
        raise ValueError(f"status {status!r} cannot be set by hand: use open, acknowledged or dismissed")
    if status == Status.DISMISSED and not reason.strip():
        raise ValueError("say why you dismiss it: the reason is kept with the recommendation")
    rec.status, rec.status_reason, rec.status_changed_at = status, reason.strip(), timezone.now()
    rec.status_changed_by = user
    rec.dismissed_saving_usd = rec.saving_usd_month if status == Status.DISMISSED else None
    if status == Status.ACKNOWLEDGED and rec.acknowledged_at is None:  # the first time only: when it was acted on
        rec.acknowledged_at = rec.status_changed_at
    rec.save()
    return rec
