"""GET /api/v1/recommendations: the advice, with its evidence and savings.

No `from __future__ import annotations` here: ninja reads the Literal query types at runtime.
"""

from datetime import datetime
from typing import Any, Literal

from django.db.models import Case, IntegerField, Q, Value, When
from ninja import Field, Path, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from accounts.readauth import READ_AUTH
from recommender import realized
from recommender.models import Recommendation
from recommender.models.recommendation import KINDS
from telemetry.models import Host

router = Router(tags=["read"], auth=READ_AUTH)

Kind = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Status = Literal["open", "acknowledged", "dismissed", "resolved"]


class SavingOut(Schema):
    usd_month: float = Field(description="current.usd_month − proposed.usd_month, to the cent")
    kwh_month: float = Field(description="signed: negative when the change draws more power")
    kg_co2_month: float
    basis: str


class ScheduleOut(Schema):
    peak_replicas: int
    off_replicas: int
    peak_hours_utc: list[int] = Field(description="hours of the day (UTC) that run peak_replicas")
    text: str


class ConfigOut(Schema):
    """A deployment's configuration, costed on one price basis."""

    gpu_type: str | None
    gpus_per_replica: int
    replicas: int = Field(description="replicas (at the peak, where there is a schedule)")
    tensor_parallel: int | None = None
    dtype: str | None = Field(None, description="weights' precision: bf16, fp16, fp8, int8 or awq (INT4)")
    spare_gpus: int = Field(0, description="GPUs held that serve no replica")
    gpus: float | None = Field(None, description="GPUs running on average over a day")
    usd_month: float
    kwh_month: float
    price_basis: str | None = None
    summary: str | None = None
    schedule: ScheduleOut | None = None
    vcpus: int | None = None
    mem_gib: float | None = None


class AlternativeOut(ConfigOut):
    label: str
    saving_usd_month: float = Field(description="what this option saves against the step's current configuration")


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
    current: ConfigOut | None = Field(None, description="where this step starts (the previous step's proposed)")
    proposed: ConfigOut | None = None
    alternatives: list[AlternativeOut] = []
    plan_step: int | None = Field(None, description="1, 2, … in its deployment's plan; null outside a plan")
    confidence: float
    status_reason: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None = Field(None, description="when it was first acknowledged (acted on)")


class UsageOut(Schema):
    """One side of the comparison, as rates over its own length (recommender.realized)."""

    start: datetime
    end: datetime
    hours: float = Field(description="whole hours in the window")
    usd_month: float | None = Field(description="what its hosts cost while they reported, per month-equivalent")
    kwh_month: float | None = Field(description="GPU energy (power × time covered), per month-equivalent")
    gpus_busy: float | None = Field(description="Σ GPU utilization / 100: 1.0 is one GPU busy all the time")
    gen_tps: float | None = Field(description="generated tokens per second, all its servers")
    host_hours: float = Field(description="hours its hosts reported, together")


class RealizedOut(Schema):
    acknowledged_at: datetime
    hosts: int = Field(description="hosts compared: its host, or its deployment's")
    too_early: bool = Field(description="under a day of data since: no realized figure yet")
    after_hours: int
    promised_usd_month: float
    realized_usd_month: float | None = Field(description="before − after, per month; positive is a saving")
    realized_kwh_month: float | None
    before: UsageOut = Field(description="the 7 days before the acknowledgement's hour")
    after: UsageOut = Field(description="the hours since, up to 7 days")


class RecommendationDetailOut(RecommendationOut):
    realized: RealizedOut | None = Field(None, description="before and after its acknowledgement; null before one")


class NotFoundOut(Schema):
    detail: str


def _out(r: Recommendation) -> dict:
    return {
        "id": r.pk, "kind": r.kind, "status": r.status, "target_type": r.target_type, "target_key": r.target_key,
        "target_label": r.target_label, "deployment": r.deployment, "host": r.host.hostname if r.host else None,
        "title": r.title, "reason": r.reason, "action": r.action, "evidence": r.evidence,
        "saving": {"usd_month": r.saving_usd_month, "kwh_month": r.saving_kwh_month,
                   "kg_co2_month": r.saving_kg_co2_month, "basis": r.saving_basis},
        "current": r.current, "proposed": r.proposed, "alternatives": r.alternatives or [], "plan_step": r.plan_step,
        "confidence": r.confidence, "status_reason": r.status_reason, "first_seen": r.first_seen,
        "last_seen": r.last_seen, "resolved_at": r.resolved_at, "acknowledged_at": r.acknowledged_at,
    }  # fmt: skip


@router.get("/recommendations", response=list[RecommendationOut],
            summary="Recommendations: saturation first, then by monthly saving")  # fmt: skip
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
    if host is not None:  # the host's own advice and its deployment's plan
        hosts = Host.objects.filter(Q(hostname=host) | Q(machine_id=host))
        deployments = list(hosts.values_list("deployment", flat=True))
        qs = qs.filter(Q(host__in=hosts) | Q(target_type="deployment", deployment__in=deployments))
    return [_out(r) for r in by_impact(qs)]


@router.get("/recommendations/{rec_id}", response={200: RecommendationDetailOut, 404: NotFoundOut},
            summary="One recommendation, with what acting on it realized")  # fmt: skip
def recommendation(request, rec_id: int = Path(..., ge=1, le=2**63 - 1)):  # a BigAutoField's range
    """Its fields as in the list, and `realized`: cost, energy and GPU load of its hosts before and after it
    was acknowledged, from the hourly rollups (recommender.realized)."""
    rec = Recommendation.objects.select_related("host").filter(pk=rec_id).first()
    if rec is None:
        raise HttpError(404, f"No recommendation with id {rec_id}: list them at /api/v1/recommendations.")
    comparison = realized.compare(rec)
    return {**_out(rec), "realized": comparison.as_dict() if comparison else None}


def by_impact(qs):
    """Users waiting (saturation) first, then the largest saving; a deployment's plan in its order."""
    urgent = Case(When(kind="saturation", then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(urgent=urgent).order_by("urgent", "-saving_usd_month", "deployment", "plan_step", "kind", "pk")
