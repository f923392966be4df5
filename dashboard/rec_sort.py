"""The recommendations list's search and sort orders, and the links that switch between them.

Sorting only orders what the filters chose: the list's totals (capped per deployment by
dashboard.plan.capped_total) are computed over the same rows whatever the order.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, NullIf

from recommender.api import by_impact
from recommender.models.recommendation import KIND_LABELS

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
    """Advice whose host, deployment, target or title holds `q` (any case)."""
    q = q.strip()
    if not q:
        return qs
    return qs.filter(
        Q(host__hostname__icontains=q)
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
        # deployment-wide advice has no host: it sorts by its deployment (or target) among the hostnames
        name = Coalesce("host__hostname", NullIf("deployment", Value("")), "target_label", output_field=CharField())
        return {"sort_name": name}, [F("sort_name").desc() if reverse else F("sort_name").asc()]
    if key == "kind":
        label = Case(*[When(kind=k, then=Value(v)) for k, v in KIND_LABELS.items()], default=F("kind"),
                     output_field=CharField())  # fmt: skip
        return {"sort_kind": label}, [F("sort_kind").desc() if reverse else F("sort_kind").asc()]
    return {}, [F("first_seen").desc() if reverse else F("first_seen").asc()]  # age: the oldest first


def links(query: str, sort: str) -> list[dict]:
    """One link per order; the current one reverses on a second click. `query` is the list's other parameters."""
    out = []
    for key, label in SORTS.items():
        current = sort.lstrip("-") == key
        target = f"-{key}" if sort == key else key
        arrow = ("▼" if (key in DESCENDING) != sort.startswith("-") else "▲") if current else ""
        href = f"?{query + '&' if query else ''}sort={target}"
        out.append({"key": key, "label": label, "href": href, "current": current, "arrow": arrow})
    return out
