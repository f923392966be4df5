"""The trends page (fleet cost and utilization by day, cost per million tokens, cost by label) and its CSV."""

from __future__ import annotations

import csv
import re
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import trends
from dashboard.access import viewer_required
from dashboard.views.recommendations import _cell as csv_cell  # the one CSV-injection guard

CSV_COLUMNS = ["key", "value", "unlabelled", "hosts", "gpus", "cost_usd", "share_pct", "util_pct", "idle_cost_usd",
               "first_day", "last_day"]  # fmt: skip


@viewer_required
def trends_page(request: HttpRequest) -> HttpResponse:
    labels = trends.host_labels()
    keys = trends.label_keys(labels)
    kept_first, kept_last = trends.window(trends.MAX_DAYS)
    bounds = {"kept_first": kept_first.isoformat(), "kept_last": kept_last.isoformat()}
    try:
        query = trends.parse(request.GET, keys)
    except trends.BadQuery as exc:
        context = {"error": str(exc), "keys": keys, "day_choices": trends.DAY_CHOICES, **bounds}
        return render(request, "dashboard/trends.html", context, status=400)
    data = trends.build(query, labels)
    drill = data["drill"]
    context = {
        "query": query, "data": data, "keys": keys if query.key in keys or not query.key else [*keys, query.key],
        "day_choices": sorted({*trends.DAY_CHOICES, query.days}) if not query.dated else trends.DAY_CHOICES,
        "max_key_chars": trends.MAX_KEY_CHARS, "range_qs": range_qs(query), **bounds,
        "chart_data": {**{k: data[k] for k in ("from", "to", "fleet", "deployments", "labels")},
                       "drill": drill and {k: drill[k] for k in ("key", "value", "series")}},
    }  # fmt: skip
    return render(request, "dashboard/trends.html", context)


def range_qs(query: trends.Query) -> str:
    """The query's range as URL parameters, for the links that must keep it (the CSV, a label value's drill-down)."""
    if query.dated:
        return urlencode({"from": query.first.isoformat(), "to": query.last.isoformat()})
    return urlencode({"days": query.days})


@viewer_required
def labels_csv(request: HttpRequest) -> HttpResponse:
    """The cost-by-label table as CSV: numbers as numbers, text cells guarded against spreadsheet formulas."""
    labels = trends.host_labels()
    try:
        query = trends.parse(request.GET, trends.label_keys(labels))
    except trends.BadQuery as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    if not query.key:
        return HttpResponse("No host carries a label yet: there is nothing to split by.", status=400,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    split, first, last = trends.split_for(query, labels)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", query.key)[:40] or "label"
    response["Content-Disposition"] = f'attachment; filename="rightsizer-cost-by-{name}-{first}-{last}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    span = [first.isoformat(), last.isoformat()]
    for r in split["rows"]:
        writer.writerow([csv_cell(query.key), csv_cell(r["value"]), str(r["unlabelled"]).lower(), r["hosts"], r["gpus"],
                         *_numbers(r), *span])  # fmt: skip
    t = split["totals"]
    writer.writerow([csv_cell(query.key), "(total)", "", t["hosts"], t["gpus"], *_numbers(t), *span])
    return response


def _numbers(row: dict) -> list:
    """The money and percentages as plain numbers (empty where unknown), for a spreadsheet to sum."""
    return ["" if row[k] is None else row[k] for k in ("cost_usd", "share_pct", "util_pct", "idle_cost_usd")]
