"""The capacity planner: model, dtype, context and concurrency → memory need and the GPUs that fit."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.access import viewer_required
from dashboard.forms import CUSTOM, PlannerForm
from recommender.analysis import type_info
from recommender.memory import ModelShape
from recommender.models import GpuType, ModelSpec
from recommender.planner import plan


@viewer_required
def planner(request: HttpRequest) -> HttpResponse:
    specs = list(ModelSpec.objects.all())
    form = PlannerForm(request.GET or None, specs=specs)
    result, shape_label = None, ""
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["model"] == CUSTOM:
            shape = ModelShape(data["params_b"] * 1e9, data.get("layers") or 0, data.get("kv_heads") or 0,
                               data.get("head_dim") or 0)  # fmt: skip
            shape_label = f"custom, {data['params_b']:g}B parameters"
        else:
            s = form.specs[data["model"]]
            shape = ModelShape(s.params, s.layers, s.kv_heads, s.head_dim, s.embedding_params)
            shape_label = f"{s.name} ({s.params / 1e9:.1f}B parameters; {s.source}, {s.source_date:%Y-%m})"
        catalog = [type_info(t) for t in GpuType.objects.all()]
        result = plan(shape, data["dtype"], data["quantization"] or None, data["context_tokens"],
                      data["concurrency"], catalog)  # fmt: skip
    return render(request, "dashboard/planner.html", {"form": form, "plan": result, "shape_label": shape_label})
