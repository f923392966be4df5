"""Forms for the settings page and the capacity planner: every bad input comes back with what to fix."""

from __future__ import annotations

import json

from django import forms

from recommender.models import ModelSpec
from recommender.thresholds import validate_overrides
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


class ThresholdsForm(forms.Form):
    deployment = forms.CharField(max_length=255)
    values = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text='e.g. {"target_util_pct": 60}')

    def clean_values(self) -> dict:
        try:
            values = json.loads(self.cleaned_data["values"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON ({exc.msg} at character {exc.pos}).") from None
        try:
            return validate_overrides(values)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


DTYPES = [("bfloat16", "bf16"), ("float16", "fp16"), ("float32", "fp32"), ("fp8", "fp8")]
QUANTIZATIONS = [("", "none"), ("int8", "int8 (8-bit weights)"), ("awq", "4-bit (AWQ / GPTQ)")]
CUSTOM = "custom"


class PlannerForm(forms.Form):
    model = forms.ChoiceField(help_text="from the catalog, or custom")
    params_b = forms.FloatField(required=False, min_value=0.01, max_value=5000, label="Parameters (billions)")
    layers = forms.IntegerField(required=False, min_value=1, max_value=1000)
    kv_heads = forms.IntegerField(required=False, min_value=1, max_value=1024, label="KV heads")
    head_dim = forms.IntegerField(required=False, min_value=1, max_value=4096, label="Head dim")
    dtype = forms.ChoiceField(choices=DTYPES, initial="bfloat16")
    quantization = forms.ChoiceField(choices=QUANTIZATIONS, required=False)
    context_tokens = forms.IntegerField(min_value=1, max_value=10_000_000, initial=8192, label="Context length")
    concurrency = forms.IntegerField(min_value=1, max_value=100_000, initial=16, label="Concurrent requests")

    def __init__(self, *args, specs: list[ModelSpec], **kwargs):
        super().__init__(*args, **kwargs)
        self.specs = {s.name: s for s in specs}
        self.fields["model"].choices = [(s.name, s.name) for s in specs] + [(CUSTOM, "Custom size…")]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("model") == CUSTOM:
            if not data.get("params_b"):
                self.add_error("params_b", "A custom model needs its size in billions of parameters.")
            given = [bool(data.get(f)) for f in ("layers", "kv_heads", "head_dim")]
            if any(given) and not all(given):
                self.add_error("layers", "Give layers, KV heads and head dim together (or none: weights only).")
        return data
