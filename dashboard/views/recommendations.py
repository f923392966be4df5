"""The recommendations list, a recommendation's page, what people do with it, and the CSV export."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard import evidence, rec_sort, simulated
from dashboard.access import admin_required, json_viewer_required, viewer_required
from dashboard.plan import capped_total
from recommender import realized
from recommender.lifecycle import set_status
from recommender.models import Recommendation
from recommender.models.recommendation import KINDS
from recommender.savings import steps_of
from telemetry.models import Host

STATUS_FILTERS = {"pending": ["open", "acknowledged"], "open": ["open"], "acknowledged": ["acknowledged"],
                  "dismissed": ["dismissed"], "resolved": ["resolved"], "all": None}  # fmt: skip
PER_PAGE = 100
ACTIONS = {"acknowledge": "acknowledged", "dismiss": "dismissed", "reopen": "open"}
DONE = {"acknowledge": "Acknowledged.", "dismiss": "Dismissed: the reason is kept with it.", "reopen": "Reopened."}
CSV_COLUMNS = ["id", "kind", "status", "target_type", "target_label", "deployment", "host", "title", "action",
               "saving_usd_month", "saving_kwh_month", "saving_kg_co2_month", "saving_basis", "confidence",
               "first_seen", "last_seen", "status_reason", "plan_step", "current_usd_month",
               "proposed_usd_month"]  # fmt: skip


def _filtered(request: HttpRequest) -> tuple[QuerySet, dict[str, str]]:
    params = {k: request.GET.get(k, "") for k in ("kind", "status", "deployment", "host", "q")}
    params["status"] = params["status"] if params["status"] in STATUS_FILTERS else "pending"
    qs = Recommendation.objects.select_related("host")
    statuses = STATUS_FILTERS[params["status"]]
    if statuses:
        qs = qs.filter(status__in=statuses)
    if params["kind"] in KINDS:
        qs = qs.filter(kind=params["kind"])
    else:
        params["kind"] = ""
    if params["deployment"]:
        qs = qs.filter(deployment=params["deployment"])
    if params["host"]:
        # the host's own advice and its deployment's (as the read API's filter)
        hosts = Host.objects.filter(Q(hostname=params["host"]) | Q(machine_id=params["host"]))
        deployments = hosts.values_list("deployment", flat=True)
        qs = qs.filter(Q(host__in=hosts) | Q(target_type="deployment", deployment__in=deployments))
    qs, params["sort"] = rec_sort.ordered(rec_sort.search(qs, params["q"]), request.GET.get("sort", ""))
    return qs, params


@viewer_required
def recommendation_list(request: HttpRequest) -> HttpResponse:
    qs, params = _filtered(request)
    totals = qs.aggregate(n=Count("pk"), kwh=Sum("saving_kwh_month"), co2=Sum("saving_kg_co2_month"))
    totals["usd"], totals["capped"] = capped_total(
        qs.select_related(None).only("deployment", "target_key", "saving_usd_month", "current")
    )
    paginator = Paginator(qs, PER_PAGE)
    paginator.count = totals["n"]  # counted with the totals: no second COUNT query
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = simulated.mark_recs(list(page.object_list))
    context = {
        "recs": page.object_list, "page": page, "totals": totals, "params": params, "kinds": KINDS,
        "sorts": rec_sort.links(_without(request.GET, "sort", "page"), params["sort"]),
        "pager_query": _without(request.GET, "page"),
        "statuses": list(STATUS_FILTERS),
        "deployments": Recommendation.objects.exclude(deployment="").values_list("deployment", flat=True)
        .distinct().order_by("deployment"),
        "hosts": Recommendation.objects.filter(host__isnull=False).values_list("host__hostname", flat=True)
        .distinct().order_by("host__hostname"),
        "any": Recommendation.objects.exists(), "querystring": request.GET.urlencode(),
    }  # fmt: skip
    return render(request, "dashboard/recommendations.html", context)


def _without(query, *keys: str) -> str:
    """The request's query string less `keys` (a sort link drops the page; a page link keeps the sort)."""
    kept = query.copy()
    for key in keys:
        kept.pop(key, None)
    return kept.urlencode()


@viewer_required
def recommendation_csv(request: HttpRequest) -> HttpResponse:
    qs, _ = _filtered(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="rightsizer-recommendations-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for r in qs.iterator(chunk_size=1000):
        values = {"id": r.pk, "host": r.host.hostname if r.host else "", "first_seen": r.first_seen.isoformat(),
                  "last_seen": r.last_seen.isoformat(), "current_usd_month": (r.current or {}).get("usd_month"),
                  "proposed_usd_month": (r.proposed or {}).get("usd_month")}  # fmt: skip
        writer.writerow([_cell(values[c] if c in values else getattr(r, c)) for c in CSV_COLUMNS])
    return response


def _cell(value) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: quote those (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@viewer_required
def recommendation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rec = get_object_or_404(Recommendation.objects.select_related("host", "gpu", "status_changed_by"), pk=pk)
    rows = [{**row, "reported": evidence.reported(row)} for row in rec.evidence or []]
    context = {"rec": rec, "basis_lines": steps_of(rec.saving_basis), "evidence": rows,
               "simulated": simulated.mark_recs([rec])[0].simulated}  # fmt: skip
    context["realized"] = realized.compare(rec)  # before and after its acknowledgement; None if never acknowledged
    return render(request, "dashboard/recommendation.html", context)


@require_POST
@admin_required
def recommendation_status(request: HttpRequest, pk: int) -> HttpResponse:
    rec = get_object_or_404(Recommendation, pk=pk)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, f"Unknown action {action!r}: use {', '.join(ACTIONS)}.")
        return redirect("dashboard:recommendation", pk=pk)
    try:
        set_status(rec, ACTIONS[action], request.user, request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, str(exc)[:1].upper() + str(exc)[1:] + ".")
    else:
        messages.success(request, DONE[action])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("dashboard:recommendation", pk=pk)


@json_viewer_required
def recommendation_evidence(request: HttpRequest, pk: int) -> JsonResponse:
    rec = Recommendation.objects.select_related("host", "gpu").filter(pk=pk).first()
    if rec is None:
        return JsonResponse({"detail": f"No recommendation with id {pk}."}, status=404)
    return JsonResponse({"items": evidence.items(rec)})
