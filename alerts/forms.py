"""The channel and budget forms, for the settings page, the deployment page and the admin.

A bad URL, address or secret is an error on its field, and nothing is saved. A saved secret is
never shown again: the field stays empty, and leaving it empty keeps the secret.
"""

from __future__ import annotations

import string

from django import forms
from django.core.exceptions import ValidationError

from alerts.channels import REGISTRY
from alerts.events import CATALOGUE, DEFAULT_SUBSCRIPTIONS
from alerts.models import Budget, Channel

SECRET_CHARS = set(string.ascii_letters + string.digits + string.punctuation)


class ChannelForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(k, k.capitalize()) for k in REGISTRY])
    target = forms.CharField(
        label="Address or URL", max_length=2000, help_text="email: addresses, comma-separated; else the https URL"
    )
    secret = forms.CharField(label="Signing secret", required=False, strip=False, max_length=200,
                             widget=forms.PasswordInput(render_value=False),
                             help_text="webhook only, 16+ characters; empty keeps the saved one")  # fmt: skip
    events = forms.MultipleChoiceField(choices=[(n, e.label) for n, e in CATALOGUE.items()],
                                       widget=forms.CheckboxSelectMultiple, initial=DEFAULT_SUBSCRIPTIONS)  # fmt: skip
    min_saving_usd_month = forms.FloatField(label="Minimum saving (USD/month)", min_value=0, initial=0,
                                            required=False)  # fmt: skip

    class Meta:
        model = Channel
        fields = ["kind", "name", "target", "secret", "events", "min_saving_usd_month", "enabled"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.kind != "email":  # a saved URL is a secret too (Slack's path)
            self.fields["target"].required = False
            self.fields["target"].help_text = f"saved: {self.instance.shown_target}; empty keeps it"
            self.initial["target"] = ""

    def clean_target(self) -> str:
        target = self.cleaned_data.get("target", "")
        if not target and self.instance.pk:
            return self.instance.target
        return target

    def clean_min_saving_usd_month(self) -> float:
        return self.cleaned_data.get("min_saving_usd_month") or 0.0

    def clean(self) -> dict:
        data = super().clean()
        transport = REGISTRY.get(data.get("kind", ""))
        if transport is None:
            return data
        if "target" in data:
            try:
                data["target"] = transport.clean_target(data["target"])
            except ValidationError as exc:
                self.add_error("target", exc)
        secret = data.get("secret") or ""
        if secret and not transport.needs_secret:
            self.add_error("secret", f"a {transport.kind} channel has no signing secret: leave it empty")
        elif secret and (len(secret) < 16 or not set(secret) <= SECRET_CHARS):
            self.add_error("secret", "use 16 or more printable characters, no spaces")
        return data

    def save(self, commit: bool = True) -> Channel:
        channel = super().save(commit=False)
        if not self.cleaned_data.get("secret") and self.instance.pk:
            channel.secret = Channel.objects.filter(pk=self.instance.pk).values_list("secret", flat=True).first() or ""
        if commit:
            channel.save()
        return channel


class BudgetForm(forms.ModelForm):
    usd_month = forms.FloatField(label="Budget (USD/month)", min_value=0.01, max_value=1e9)

    class Meta:
        model = Budget
        fields = ["usd_month"]
