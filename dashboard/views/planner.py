"""The capacity planner: a model (catalog, served name or custom size), its precision, context and concurrency →
memory need, the GPUs that fit and the speed they serve it at; started from a running deployment, each GPU type
as "what if it moved there", against what it runs today."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.access import viewer_required
from dashboard.forms import CUSTOM, DTYPES, PlannerForm
from recommender import memory
from recommender import planner as planner_math
from recommender.analysis import type_info
from recommender.catalog import ModelMatch, match_gpu_type, match_model, precision_from_name
from recommender.in_force import InForce
from recommender.memory import ModelShape
from recommender.models import GpuType, ModelSpec, Recommendation
from recommender.plan import plural, replicas_of
from recommender.savings import HOURS_PER_MONTH
from telemetry.histogram import percentile
from telemetry.models import Gpu, InferenceServer, ServerRollup
from telemetry.models.rollups import PERIOD_1H, histogram_fields
from telemetry.rollups import floor_to


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
    server_pks: tuple[int, ...] = field(default=(), compare=False)  # its servers of that model

    @property
    def usd_month(self) -> float | None:
        """Today's GPUs at their price per GPU-hour (the same basis as every option beside it)."""
        if self.gpu_type is None:
            return None
        return round(self.replicas * self.gpus_per_replica * self.gpu_type.price_usd * HOURS_PER_MONTH, 2)


@dataclass(frozen=True)
class Observed:
    """A deployment's load over the analysis window, read from its servers' hourly rollups: what the planner
    sizes for when it starts from that deployment."""

    days: float
    hours: int  # hours with rollups in the window
    running_p95: float | None  # per replica: p95 over the hours of Σ running_mean ÷ replicas
    gen_tps_p95: float | None  # the deployment: p95 over the hours of Σ gen_tps_mean
    kv_p95_pct: float | None  # p95 of the KV-cache use, from the servers' histograms (as the advice reads it)
    context_tokens: int | None  # tokens each running request holds at that p95: KV in use ÷ KV per token ÷ running

    @property
    def concurrency(self) -> int | None:
        return math.ceil(round(self.running_p95, 6)) if self.running_p95 else None


def _p95(values: list[float]) -> float | None:
    """Nearest-rank p95, as the analysis takes the p95 of hourly means."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else None


def observed_load(start: Running, shape: ModelShape | None, now=None) -> Observed:
    """p95 of hourly mean running requests (per replica) and generated tokens/s (all replicas) over the
    analysis window, and the context each request holds at the KV cache's p95. Hourly means, not maxima: the
    maxima of a busy hour are brief spikes the KV cache and the batch absorb; the advice reads the same hours.
    Two queries whatever the window's length."""
    days = InForce().fleet.window_days
    hi = floor_to(now or timezone.now(), PERIOD_1H)
    window = {"server_id__in": start.server_pks, "period_s": PERIOD_1H, "ts__gte": hi - timedelta(days=days),
              "ts__lt": hi}  # fmt: skip
    running: dict = {}
    tps: dict = {}
    for ts, run, gen in ServerRollup.objects.filter(**window).values_list("ts", "running_mean", "gen_tps_mean"):
        if run is not None:
            running[ts] = running.get(ts, 0.0) + run
        if gen is not None:
            tps[ts] = tps.get(ts, 0.0) + gen
    hist = ServerRollup.objects.filter(**window).aggregate(**{f: Sum(f) for f in histogram_fields("kv")})
    kv_pct = percentile([float(hist[f] or 0) for f in histogram_fields("kv")], 95)
    replicas = max(1, len(start.server_pks))
    running_p95 = _p95([v / replicas for v in running.values()])
    context = None
    if kv_pct is not None and running_p95 and shape is not None and shape.layers and start.gpu_type is not None:
        weights = memory.weight_bytes(shape, start.dtype, start.quantization or None)
        pool = memory.kv_pool_bytes(start.gpu_type.memory_bytes, start.gpus_per_replica, weights)
        per_token = memory.kv_bytes_per_token(shape)
        context = max(1, math.ceil(pool * kv_pct / 100 / per_token / running_p95)) if pool else None
    return Observed(days, len(running.keys() | tps.keys()), running_p95, _p95(list(tps.values())), kv_pct, context)


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
    pks: dict[str, tuple[int, ...]] = {}
    for name, members in by_deployment.items():
        served, replicas = Counter(s["model"] for s in members).most_common(1)[0]
        if served not in matches:
            matches[served] = match_model(served, specs)
        if matches[served] is not None and matches[served].basis == "catalog":  # only a known shape is re-planned
            chosen[name] = (next(s for s in members if s["model"] == served), matches[served].name, replicas)
            pks[name] = tuple(s["pk"] for s in members if s["model"] == served)
    gpus = _first_gpus([first for first, _, _ in chosen.values()])
    types, dtypes = list(GpuType.objects.all()), {key for key, _ in DTYPES}
    out = {}
    for name, (first, model, replicas) in chosen.items():
        gpu = gpus.get(first["pk"])
        gpu_type = match_gpu_type(gpu[0], gpu[1], types) if gpu else None
        dtype = first["dtype"].lower() if first["dtype"].lower() in dtypes else "bfloat16"
        out[name] = Running(name, first["model"], model, dtype, _quantization(first["quantization"], first["model"]),
                            gpu_type, first["n_gpus"] or first["tensor_parallel"] or 1, replicas,
                            pks[name])  # fmt: skip
    return out


def _bound(request: HttpRequest, start: Running | None, observed: Observed | None) -> dict | None:
    """The form's data: the query string, or, when a deployment is loaded, its model, precision and the load
    it was observed to carry (concurrency per replica, context per request), where its rollups tell."""
    if not request.GET:
        return None
    data = request.GET.copy()
    if start is not None and "load" in data:
        loaded = {"served": start.served, "model": start.model, "dtype": start.dtype,
                  "quantization": start.quantization}  # fmt: skip
        if observed is not None and observed.concurrency:
            loaded["concurrency"] = observed.concurrency
        if observed is not None and observed.context_tokens:
            loaded["context_tokens"] = observed.context_tokens
        for key, value in loaded.items():
            data[key] = str(value)  # QueryDict.update would append beside what was typed
        for name in ("context_tokens", "concurrency", "prompt_tokens"):
            data.setdefault(name, str(PlannerForm.base_fields[name].initial))
    return data


def _start_shape(start: Running, specs: list[ModelSpec]) -> ModelShape | None:
    spec = next((s for s in specs if s.name == start.model), None)
    return ModelShape(spec.params, spec.layers, spec.kv_heads, spec.head_dim, spec.embedding_params) if spec else None


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


def _moves(result: planner_math.Plan, start: Running, peak_tps: float | None = None) -> list[dict]:
    """Each GPU type that holds the model, as a move of the whole deployment: today's replicas, or more where
    the estimated tokens/s per replica cannot carry the observed peak, so no row saves by serving less."""
    today = start.usd_month
    rows = []
    for o in result.options:
        replicas = planner_math.replicas_to_carry(o, peak_tps, start.replicas)
        usd = round(o.usd_month * replicas, 2)
        delta = None if today is None else round(usd - today, 2)
        rows.append({"option": o, "replicas": replicas, "gpus": o.gpus * replicas, "usd_month": usd,
                     "carries_tps": replicas * o.speed.decode_tps_total if o.speed else None,
                     "for_throughput": replicas > start.replicas, "delta": delta,
                     "delta_abs": None if delta is None else abs(delta),
                     "today": start.gpu_type is not None and o.gpu_type == start.gpu_type.name})  # fmt: skip
    return sorted(rows, key=lambda r: (not r["today"], r["usd_month"]))


def _throughput_said(row: dict, peak_tps: float | None) -> str:
    """Where the tokens/s, not memory, set the row's replicas: the two figures that did."""
    if not row["for_throughput"] or not peak_tps:
        return ""
    return (f" Here the tokens/s decide: one replica is estimated at {row['option'].speed.decode_tps_total:,.0f} "
            f"tokens/s against the observed p95 of {peak_tps:,.0f}.")  # fmt: skip


def _advice_note(start: Running, moves: list[dict], peak_tps: float | None = None) -> str:
    """Where the deployment's open advice keeps today's GPU type at another GPU count than the planner's row for
    it, the count and why they differ; empty where they agree or no advice proposes that type."""
    row = next((m for m in moves if m["today"]), None)
    if row is None:
        return ""
    for proposed in (Recommendation.objects.filter(deployment=start.deployment, status=Recommendation.Status.OPEN,
                                                   proposed__isnull=False)
                     .order_by("plan_step", "pk").values_list("proposed", flat=True)):  # fmt: skip
        if not isinstance(proposed, dict) or proposed.get("gpu_type") != row["option"].gpu_type:
            continue
        schedule = proposed.get("schedule") or {}
        peak = int(schedule.get("peak_replicas") or proposed.get("replicas") or 0)
        gpr = int(proposed.get("gpus_per_replica") or 0)
        if peak * gpr == row["gpus"]:
            return ""
        when = f" at peak ({schedule.get('text')}), {schedule.get('off_replicas')} otherwise" if schedule else ""
        gpu = row["option"].gpu_type
        return (f"The advice for {start.deployment} runs {replicas_of(peak, gpr, gpu)}{when}; "
                f"this row runs {replicas_of(row['replicas'], row['option'].gpus, gpu)}. The "
                "advice sizes replicas from the GPUs' observed utilization at its target, and schedules them by "
                "hour; the planner sizes each replica from memory at the observed concurrency and from the "
                "estimated tokens/s, for the peak, around the clock." + _throughput_said(row, peak_tps))  # fmt: skip
    return ""


@viewer_required
def planner(request: HttpRequest) -> HttpResponse:
    specs = list(ModelSpec.objects.all())
    running = running_deployments(specs)
    start = running.get(request.GET.get("deployment") or "")
    observed = observed_load(start, _start_shape(start, specs)) if start is not None else None
    form = PlannerForm(_bound(request, start, observed), specs=specs, deployments=sorted(running))
    context = {"form": form, "plan": None, "shape_label": "", "start": None, "moves": [], "precision_note": "",
               "observed": observed, "advice_note": ""}  # fmt: skip
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
            context["start"] = start
            context["moves"] = _moves(context["plan"], start, observed.gen_tps_p95 if observed else None)
            context["advice_note"] = _advice_note(start, context["moves"], observed.gen_tps_p95 if observed else None)
            context["today_shape"] = replicas_of(start.replicas, start.gpus_per_replica,
                                                 start.gpu_type.name if start.gpu_type else None) + (
                "" if start.gpu_type else " of an unknown type")  # fmt: skip
            context["replicas_text"] = (f"runs the {plural(start.replicas, 'replica')}" if start.replicas == 1
                                        else f"runs all {plural(start.replicas, 'replica')}")  # fmt: skip
    return render(request, "dashboard/planner.html", context)
