"""Forms for the settings page and the capacity planner: every bad input comes back with what to fix."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from recommender.catalog import match_model, precision_from_name
from recommender.models import ModelSpec
from recommender.thresholds import DEFAULTS, describe, parse, validate_overrides
from telemetry.models import Host


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Where it is used, e.g. 'prod fleet'.",
        error_messages={"required": "Give the token a name that says where it is used."},
    )


class GpuPriceForm(forms.Form):
    gpu_type = forms.IntegerField(widget=forms.HiddenInput)
    price = forms.FloatField(required=False, min_value=0, max_value=1000,
                             help_text="USD per GPU-hour; leave empty to use the reference price")  # fmt: skip


class HostPriceForm(forms.Form):
    hostname = forms.CharField(max_length=255)
    hourly_usd = forms.FloatField(min_value=0, max_value=10000, label="USD per hour", help_text="the whole host")
    note = forms.CharField(max_length=255, required=False)

    def clean_hostname(self) -> Host:
        name = self.cleaned_data["hostname"].strip()
        host = Host.objects.filter(hostname=name).first() or Host.objects.filter(machine_id=name).first()
        if host is None:
            raise forms.ValidationError(f"No host named {name!r}: use a hostname from the fleet page.")
        return host


FLEET_ONLY = {"window_days"}  # a deployment cannot override these


def _bound(value: float) -> str:
    return f"{value:g}"


SHARE = "share"  # a threshold stored as a fraction (0–1); the form reads and takes it in %, as the advice says it


def as_pct(value: float | None) -> float | None:
    """0.15 → 15.0, without the float noise of 0.15 × 100."""
    return None if value is None else round(value * 100, 6)


def shown(d: dict) -> dict:
    """A threshold as the form shows it: a share in % (bounds and default too), anything else as stored."""
    if d["unit"] != SHARE:
        return d
    return {**d, "unit": "%", "min": as_pct(d["min"]), "max": as_pct(d["max"]), "default": as_pct(d["default"])}


def _shares_in_pct(form: forms.Form, described: list[dict]) -> set[str]:
    """Show the stored fractions of the share thresholds in % in `form.initial`; return their names."""
    names = {d["name"] for d in described if d["unit"] == SHARE}
    form.initial = {k: f"{as_pct(float(v)):g}" if k in names and v not in (None, "") else v
                    for k, v in form.initial.items()}  # fmt: skip
    return names


def _stored(values: dict[str, float], shares: set[str]) -> dict[str, float]:
    """What the form took, as the thresholds store it: a share typed in % back to its fraction."""
    return {k: round(v / 100, 8) if k in shares else v for k, v in values.items()}


def _threshold_field(d: dict, placeholder: float) -> forms.FloatField:
    """One threshold as a typed field: its label, meaning and bounds, blank allowed (inherit)."""
    lo, hi, unit = d["min"], d["max"], d["unit"]
    # Django formats the bound messages with %-params: there a literal % (the unit) is written %%.
    bounds = f"Between {_bound(lo)} and {_bound(hi)} {unit}".rstrip() + "."
    escaped = bounds.replace("%", "%%")
    invalid = f"A number, {bounds[0].lower()}{bounds[1:]}"
    return forms.FloatField(
        required=False,
        min_value=lo,
        max_value=hi,
        label=d["label"],
        help_text=d["description"],
        error_messages={"min_value": escaped, "max_value": escaped, "invalid": invalid},
        widget=forms.NumberInput(attrs={"step": "any", "placeholder": _bound(placeholder)}),
    )


class ThresholdsForm(forms.Form):
    """A deployment's overrides, one typed field per threshold from recommender.thresholds.Thresholds.

    Each field carries the threshold's label, unit, meaning and bounds; blank inherits the fleet-wide value
    in force (shown as the placeholder). Django checks each bound per field; the typed object checks the
    whole over the fleet-wide values, as the analysis will merge it."""

    deployment = forms.CharField(max_length=255, error_messages={"required": "Pick the deployment to override."})

    def __init__(self, *args, fleet: Mapping[str, float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fleet = dict(fleet or DEFAULTS)
        self.described = [d for d in describe() if d["name"] not in FLEET_ONLY]
        self.shares = _shares_in_pct(self, self.described)
        for d in self.described:
            fleet_value = self.fleet[d["name"]]
            fleet_value = as_pct(fleet_value) if d["name"] in self.shares else fleet_value
            self.fields[d["name"]] = _threshold_field(shown(d), fleet_value)
            self.fields[d["name"]].threshold = {**shown(d), "fleet": fleet_value}

    def threshold_fields(self) -> list:
        """The bound fields of the thresholds, in the typed object's order, each with `.field.threshold`."""
        return [self[d["name"]] for d in self.described]

    def clean_deployment(self) -> str:
        return self.cleaned_data["deployment"].strip()

    def clean(self) -> dict:
        data = super().clean()
        values = {d["name"]: data[d["name"]] for d in self.described if data.get(d["name"]) is not None}
        values = _stored(values, self.shares)
        if not self.errors:
            try:
                data["values"] = validate_overrides(values)
                parse(values, base=self.fleet)
            except ValueError as exc:  # a rule across fields the per-field bounds cannot see
                raise forms.ValidationError(str(exc)) from None
        return data


SOURCE_NAMES = {"default": "default", "environment": "RIGHTSIZER_RECOMMENDER_THRESHOLDS", "dashboard": "this page"}


class FleetThresholdsForm(forms.Form):
    """The fleet-wide values an admin sets here, over the environment's base: every threshold, typed.

    `base` is what a blank inherits (defaults ← RIGHTSIZER_RECOMMENDER_THRESHOLDS), `in_force` the
    fleet-wide values now, `sources` where each comes from. A value is checked on its field (bounds),
    then the whole set over the base (rules across fields), so nothing is saved that the analysis would
    skip."""

    def __init__(self, *args, base: Mapping[str, float], in_force: Mapping[str, float],
                 sources: Mapping[str, str], env: Mapping[str, float], **kwargs):  # fmt: skip
        kwargs.setdefault("prefix", "fleet")
        super().__init__(*args, **kwargs)
        self.base = dict(base)
        self.described = describe()
        self.shares = _shares_in_pct(self, self.described)
        for d in self.described:
            name = d["name"]
            inherited_from = "environment" if name in env else "default"
            show = as_pct if name in self.shares else float
            self.fields[name] = _threshold_field(shown(d), show(self.base[name]))
            self.fields[name].threshold = {
                **shown(d), "value": show(in_force[name]), "source": sources[name],
                "source_name": SOURCE_NAMES[sources[name]], "inherited": show(self.base[name]),
                "inherited_from": SOURCE_NAMES[inherited_from], "changed": in_force[name] != d["default"],
            }  # fmt: skip

    def threshold_fields(self) -> list:
        return [self[d["name"]] for d in self.described]

    def clean(self) -> dict:
        data = super().clean()
        values = {d["name"]: data[d["name"]] for d in self.described if data.get(d["name"]) is not None}
        values = _stored(values, self.shares)
        if not self.errors:
            try:
                parse(values, base=self.base)
            except ValueError as exc:  # a rule across fields: shown above the form, nothing saved
                raise forms.ValidationError(str(exc)) from None
            data["values"] = {k: float(v) for k, v in values.items()}
        return data


DTYPES = [("bfloat16", "bf16"), ("float16", "fp16"), ("float32", "fp32"), ("fp8", "fp8")]
QUANTIZATIONS = [("", "none"), ("fp8", "FP8 (W8A8)"), ("int8", "int8 (8-bit weights)"), ("awq", "4-bit (AWQ / GPTQ)")]
CUSTOM = "custom"


class PlannerForm(forms.Form):
    """The planner's question: a model (from the catalog, by its served name, or a custom size) and its load.

    A served name ("Qwen2.5-72B-Instruct-AWQ") is matched to the catalog as the analysis matches what the
    agent reports, and its quantization suffix sets the precision; `deployment` compares every GPU type
    with what that deployment runs today."""

    deployment = forms.ChoiceField(required=False, label="Compare with deployment")
    served = forms.CharField(required=False, max_length=255, label="Served name",
                             help_text="as the server names it, e.g. Qwen2.5-72B-Instruct-AWQ; "
                                       "when given, it is used instead of the model list")  # fmt: skip
    model = forms.ChoiceField(required=False, help_text="from the catalog, or custom")
    params_b = forms.FloatField(required=False, min_value=0.01, max_value=5000, label="Parameters (billions)")
    layers = forms.IntegerField(required=False, min_value=1, max_value=1000)
    kv_heads = forms.IntegerField(required=False, min_value=1, max_value=1024, label="KV heads")
    head_dim = forms.IntegerField(required=False, min_value=1, max_value=4096, label="Head dim")
    dtype = forms.ChoiceField(choices=DTYPES, initial="bfloat16")
    quantization = forms.ChoiceField(choices=QUANTIZATIONS, required=False)
    context_tokens = forms.IntegerField(min_value=1, max_value=10_000_000, initial=8192, label="Context length")
    concurrency = forms.IntegerField(min_value=1, max_value=100_000, initial=16, label="Concurrent requests",
                                     help_text="per replica")  # fmt: skip
    prompt_tokens = forms.IntegerField(min_value=1, max_value=10_000_000, initial=1024, label="Prompt length",
                                       required=False, help_text="tokens, for the time to first token")  # fmt: skip

    def __init__(self, *args, specs: list[ModelSpec], deployments: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.specs = {s.name: s for s in specs}
        self.fields["model"].choices = [(s.name, s.name) for s in specs] + [(CUSTOM, "Custom size…")]
        self.fields["deployment"].choices = [("", "—")] + [(d, d) for d in deployments]

    def clean(self) -> dict:
        data = super().clean()
        served = (data.get("served") or "").strip()
        data["match"] = None
        data["prompt_tokens"] = data.get("prompt_tokens") or self.fields["prompt_tokens"].initial
        if served:
            match = match_model(served, self.specs.values())
            if match is None:
                self.add_error("served", f"No catalog model matches {served!r} and it names no size (such as "
                                         "“8B”): pick the model, or give its size as a custom model.")  # fmt: skip
            data["match"], data["name_precision"] = match, precision_from_name(served)
        elif not data.get("model"):
            self.add_error("model", "Pick a model, or type the name it is served under.")
        elif data.get("model") == CUSTOM:
            if not data.get("params_b"):
                self.add_error("params_b", "A custom model needs its size in billions of parameters.")
            given = [bool(data.get(f)) for f in ("layers", "kv_heads", "head_dim")]
            if any(given) and not all(given):
                self.add_error("layers", "Give layers, KV heads and head dim together (or none: weights only).")
        return data
