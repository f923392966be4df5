"""The capacity planner: a model (catalog, served name or custom size), its precision, context and concurrency →
memory need, the GPUs that fit and the speed they serve it at; started from a running deployment, each GPU type
as "what if it moved there", against what it runs today."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.access import viewer_required
from dashboard.forms import CUSTOM, DTYPES, PlannerForm
from recommender import planner as planner_math
from recommender.analysis import type_info
from recommender.catalog import ModelMatch, match_gpu_type, match_model, precision_from_name
from recommender.memory import ModelShape
from recommender.models import GpuType, ModelSpec
from recommender.savings import HOURS_PER_MONTH
from telemetry.models import Gpu, InferenceServer


@dataclass(frozen=True)
class Running:
    """What a deployment serves today, as far as its inventory tells: the planner's starting point."""

    deployment: str
    served: str  # the model name its servers report
    model: str  # the catalog's name for it
    dtype: str
    quantization: str  # a planner key: "", "fp8", "int8" or "awq"
    gpu_type: GpuType | None
    gpus_per_replica: int
    replicas: int

    @property
    def usd_month(self) -> float | None:
        """Today's GPUs at their price per GPU-hour (the same basis as every option beside it)."""
        if self.gpu_type is None:
            return None
        return round(self.replicas * self.gpus_per_replica * self.gpu_type.price_usd * HOURS_PER_MONTH, 2)


def _quantization(reported: str, served: str) -> str:
    """The planner's key for what the server reports ("awq_marlin", "gptq", "fp8"…), else the name's suffix."""
    q = (reported or "").lower()
    if q.startswith(("awq", "gptq", "marlin", "int4", "bitsandbytes")):
        return "awq"
    if q.startswith("fp8"):
        return "fp8"
    if q in {"int8", "w8a8", "w8a8_int8", "smoothquant"}:
        return "int8"
    return precision_from_name(served) or ""


def _first_gpus(chosen: list[dict]) -> dict[int, tuple[str, int]]:
    """The (NVML name, memory) of a GPU of each chosen server: one it holds, else one of its host's."""
    out: dict[int, tuple[str, int]] = {}
    held = Gpu.objects.filter(servers__pk__in=[c["pk"] for c in chosen]).order_by("index")
    for server_pk, name, mem in held.values_list("servers__pk", "name", "memory_total_bytes"):
        out.setdefault(server_pk, (name, mem))
    by_host = {c["host_id"]: c["pk"] for c in chosen if c["pk"] not in out}
    spare = Gpu.objects.filter(host_id__in=by_host, active=True).order_by("index")
    for host_id, name, mem in spare.values_list("host_id", "name", "memory_total_bytes"):
        out.setdefault(by_host[host_id], (name, mem))
    return out


def running_deployments(specs: list[ModelSpec]) -> dict[str, Running]:
    """Each deployment whose servers report a catalog model: its most served model, precision, GPU type,
    GPUs per replica (the GPUs a server holds) and replicas (its servers of that model). A few queries
    whatever the fleet's size: the planner page opens fast on thousands of hosts."""
    servers = (InferenceServer.objects.filter(active=True).exclude(model="").exclude(host__deployment="")
               .annotate(n_gpus=Count("gpus")).order_by("host__deployment", "pk")
               .values("pk", "host_id", "host__deployment", "model", "dtype", "quantization", "tensor_parallel",
                       "n_gpus"))  # fmt: skip
    by_deployment: dict[str, list[dict]] = {}
    for server in servers:
        by_deployment.setdefault(server["host__deployment"], []).append(server)
    matches: dict[str, ModelMatch | None] = {}
    chosen: dict[str, tuple[dict, str, int]] = {}
    for name, members in by_deployment.items():
        served, replicas = Counter(s["model"] for s in members).most_common(1)[0]
        if served not in matches:
            matches[served] = match_model(served, specs)
        if matches[served] is not None and matches[served].basis == "catalog":  # only a known shape is re-planned
            chosen[name] = (next(s for s in members if s["model"] == served), matches[served].name, replicas)
    gpus = _first_gpus([first for first, _, _ in chosen.values()])
    types, dtypes = list(GpuType.objects.all()), {key for key, _ in DTYPES}
    out = {}
    for name, (first, model, replicas) in chosen.items():
        gpu = gpus.get(first["pk"])
        gpu_type = match_gpu_type(gpu[0], gpu[1], types) if gpu else None
        dtype = first["dtype"].lower() if first["dtype"].lower() in dtypes else "bfloat16"
        out[name] = Running(name, first["model"], model, dtype, _quantization(first["quantization"], first["model"]),
                            gpu_type, first["n_gpus"] or first["tensor_parallel"] or 1, replicas)  # fmt: skip
    return out


def _bound(request: HttpRequest, running: dict[str, Running]) -> dict | None:
    """The form's data: the query string, or, when a deployment is loaded, its model and precision."""
    if not request.GET:
        return None
    data = request.GET.copy()
    start = running.get(data.get("deployment", ""))
    if start is not None and "load" in data:
        loaded = {"served": start.served, "model": start.model, "dtype": start.dtype,
                  "quantization": start.quantization}  # fmt: skip
        for key, value in loaded.items():
            data[key] = value  # QueryDict.update would append beside what was typed
        for field in ("context_tokens", "concurrency", "prompt_tokens"):
            data.setdefault(field, str(PlannerForm.base_fields[field].initial))
    return data


def _shape(form: PlannerForm) -> tuple[ModelShape, str, str | None]:
    """The model's shape, how it was identified, and the precision its served name declares."""
    data = form.cleaned_data
    match = data.get("match")
    if match is not None:
        spec = form.specs.get(match.name)
        label = (f"{data['served']} → {spec.name} ({spec.params / 1e9:.1f}B parameters; {spec.source}, "
                 f"{spec.source_date:%Y-%m})" if spec else f"{data['served']}: {match.basis}")  # fmt: skip
        return match.shape, label, data.get("name_precision")
    if data["model"] == CUSTOM:
        shape = ModelShape(data["params_b"] * 1e9, data.get("layers") or 0, data.get("kv_heads") or 0,
                           data.get("head_dim") or 0)  # fmt: skip
        return shape, f"custom, {data['params_b']:g}B parameters", None
    s = form.specs[data["model"]]
    shape = ModelShape(s.params, s.layers, s.kv_heads, s.head_dim, s.embedding_params)
    return shape, f"{s.name} ({s.params / 1e9:.1f}B parameters; {s.source}, {s.source_date:%Y-%m})", None


def _moves(result: planner_math.Plan, start: Running) -> list[dict]:
    """Each GPU type that holds the model, as a move of the whole deployment (all its replicas)."""
    today = start.usd_month
    rows = []
    for o in result.options:
        usd = round(o.usd_month * start.replicas, 2)
        delta = None if today is None else round(usd - today, 2)
        rows.append({"option": o, "gpus": o.gpus * start.replicas, "usd_month": usd, "delta": delta,
                     "delta_abs": None if delta is None else abs(delta),
                     "today": start.gpu_type is not None and o.gpu_type == start.gpu_type.name})  # fmt: skip
    return sorted(rows, key=lambda r: (not r["today"], r["usd_month"]))


@viewer_required
def planner(request: HttpRequest) -> HttpResponse:
    specs = list(ModelSpec.objects.all())
    running = running_deployments(specs)
    form = PlannerForm(_bound(request, running), specs=specs, deployments=sorted(running))
    context = {"form": form, "plan": None, "shape_label": "", "start": None, "moves": [], "precision_note": ""}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        shape, context["shape_label"], from_name = _shape(form)
        quantization = data["quantization"] or None
        if from_name and from_name != quantization:
            quantization = from_name
            label = dict(form.fields["quantization"].choices)[from_name]
            context["precision_note"] = f"precision from the served name: {label}"
        types = list(GpuType.objects.all())
        catalog = [type_info(t) for t in types]
        context["gpu_specs"] = types
        context["plan"] = planner_math.plan(shape, data["dtype"], quantization, data["context_tokens"],
                                            data["concurrency"], catalog,
                                            prompt_tokens=data["prompt_tokens"])  # fmt: skip
        start = running.get(data.get("deployment") or "")
        if start is not None:
            context["start"], context["moves"] = start, _moves(context["plan"], start)
    return render(request, "dashboard/planner.html", context)
