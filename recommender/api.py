"""GET /api/v1/recommendations: the advice, with its evidence and savings.

No `from __future__ import annotations` here: ninja reads the Literal query types at runtime.
"""

from datetime import datetime
from typing import Any, Literal

from django.db.models import Q
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from recommender.models import Recommendation
from recommender.models.recommendation import KINDS
from telemetry.readauth import READ_AUTH

router = Router(tags=["read"], auth=READ_AUTH)

Kind = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Status = Literal["open", "acknowledged", "dismissed", "resolved"]


class SavingOut(Schema):
    usd_month: float
    kwh_month: float
    kg_co2_month: float
    basis: str


class RecommendationOut(Schema):
    id: int
    kind: str
    status: str
    target_type: str
    target_key: str
    target_label: str
    deployment: str
    host: str | None
    title: str
    reason: str
    action: str
    evidence: list[dict[str, Any]]
    saving: SavingOut
    confidence: float
    status_reason: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


def _out(r: Recommendation) -> dict:
    return {
        "id": r.pk, "kind": r.kind, "status": r.status, "target_type": r.target_type, "target_key": r.target_key,
        "target_label": r.target_label, "deployment": r.deployment, "host": r.host.hostname if r.host else None,
        "title": r.title, "reason": r.reason, "action": r.action, "evidence": r.evidence,
        "saving": {"usd_month": r.saving_usd_month, "kwh_month": r.saving_kwh_month,
                   "kg_co2_month": r.saving_kg_co2_month, "basis": r.saving_basis},
        "confidence": r.confidence, "status_reason": r.status_reason, "first_seen": r.first_seen,
        "last_seen": r.last_seen, "resolved_at": r.resolved_at,
    }  # fmt: skip


@router.get("/recommendations", response=list[RecommendationOut], summary="Recommendations, largest saving first")
@paginate(LimitOffsetPagination)
def recommendations(request, status: Status | None = None, kind: Kind | None = None, deployment: str | None = None,
                    host: str | None = None):  # fmt: skip
    """Filters: `status`, `kind`, `deployment`, `host` (hostname or machine id). Without `status`, the ones
    that still need a decision (open and acknowledged). Paginated with `limit` and `offset`."""
    qs = Recommendation.objects.select_related("host")
    qs = qs.filter(status=status) if status else qs.filter(status__in=["open", "acknowledged"])
    if kind:
        qs = qs.filter(kind=kind)
    if deployment is not None:
        qs = qs.filter(deployment=deployment)
    if host is not None:
        qs = qs.filter(Q(host__hostname=host) | Q(host__machine_id=host))
    return [_out(r) for r in qs.order_by("-saving_usd_month", "kind", "pk")]
