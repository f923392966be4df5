"""The recommendations list's search and sort orders, and the links that switch between them.

Sorting only orders what the filters chose: the list's totals (capped per deployment by
dashboard.plan.capped_total) are computed over the same rows whatever the order.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, NullIf

from recommender.api import by_impact
from recommender.models.recommendation import KIND_LABELS
from telemetry.models import Host

# key → link text; "-key" reverses the order. Ties keep the impact order.
SORTS = {
    "impact": "saving / impact",
    "confidence": "confidence",
    "host": "host",
    "kind": "kind",
    "age": "age",
}
DEFAULT = "impact"
DESCENDING = {"impact", "confidence", "age"}  # first click: largest saving, most confident, oldest


def search(qs: QuerySet, q: str) -> QuerySet:
    """Advice whose host, deployment, target, title or served model holds `q` (any case).

    Deployment-wide advice has no host of its own: it matches when a host of its deployment does, so a
    host's name finds the same advice as the host's page lists. A model name (`llama`) finds the advice on
    every deployment serving it (the deployment's servers' models, as the agent reports them). One query:
    the host and model matches are subqueries, not a loop over the rows.
    """
    q = q.strip()
    if not q:
        return qs
    named = Host.objects.filter(hostname__icontains=q).exclude(deployment="").values("deployment")
    serving = Host.objects.filter(servers__model__icontains=q)
    return qs.filter(
        Q(host__hostname__icontains=q)
        | Q(host__isnull=True, deployment__in=named)
        | Q(host__in=serving)
        | Q(deployment__in=serving.exclude(deployment="").values("deployment"))
        | Q(deployment__icontains=q)
        | Q(target_label__icontains=q)
        | Q(title__icontains=q)
    )


def ordered(qs: QuerySet, sort: str) -> tuple[QuerySet, str]:
    """`qs` in the order `sort` names (a key of SORTS, '-' first to reverse); an unknown one means impact."""
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = DEFAULT, DEFAULT
    reverse = sort.startswith("-")
    if key == "impact":
        # by_impact: users waiting (saturation) first, then the largest saving; reversed, the smallest first
        qs = by_impact(qs)
        return (qs.reverse() if reverse else qs), sort
    first = _first_order(key, reverse)
    return by_impact(qs.annotate(**first[0])).order_by(*first[1], "urgent", "-saving_usd_month", "pk"), sort


def _first_order(key: str, reverse: bool) -> tuple[dict, list]:
    """The annotation and leading order_by terms for a sort key; each key's natural direction is the
    one people expect first (most confident, host A→Z, kind A→Z by its label, oldest first)."""
    if key == "confidence":
        return {}, [F("confidence").asc() if reverse else F("confidence").desc()]
    if key == "host":
        # deployment-wide advice has no host: it sorts with its deployment's hosts (by the first hostname
        # of the deployment), after their own advice; a deployment without hosts by its name among them
        first_host = Host.objects.filter(deployment=OuterRef("deployment")).exclude(deployment="")
        first_host = Subquery(first_host.order_by("hostname").values("hostname")[:1])
        name = Coalesce("host__hostname", first_host, NullIf("deployment", Value("")), "target_label",
                        output_field=CharField())  # fmt: skip
        wide = Case(When(host__isnull=True, then=Value(1)), default=Value(0))
        terms = [F("sort_name").desc(), F("sort_wide").desc()] if reverse else [F("sort_name").asc(), "sort_wide"]
        return {"sort_name": name, "sort_wide": wide}, terms
    if key == "kind":
        label = Case(*[When(kind=k, then=Value(v)) for k, v in KIND_LABELS.items()], default=F("kind"),
                     output_field=CharField())  # fmt: skip
        return {"sort_kind": label}, [F("sort_kind").desc() if reverse else F("sort_kind").asc()]
    return {}, [F("first_seen").desc() if reverse else F("first_seen").asc()]  # age: the oldest first


def links(query: str, sort: str) -> list[dict]:
    """One link per order; the current one reverses on a second click. `query` is the list's other parameters.

    Every link carries an arrow: the current order's direction, or the direction a click on it sorts in."""
    out = []
    for key, label in SORTS.items():
        current = sort.lstrip("-") == key
        target = f"-{key}" if sort == key else key
        arrow = "▼" if (key in DESCENDING) != (sort.startswith("-") if current else False) else "▲"
        href = f"?{query + '&' if query else ''}sort={target}"
        out.append({"key": key, "label": label, "href": href, "current": current, "arrow": arrow})
    return out
