"""A recommendation and its lifecycle (recommender.lifecycle writes it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

KINDS = ["idle", "scale_down", "smaller_gpu", "quantize", "batching", "host_rightsize", "saturation"]
# What a person reads for each kind (the list, its filter, a recommendation's page); the API and webhooks keep the key.
KIND_LABELS = {
    "idle": "Idle capacity",
    "scale_down": "Scale down",
    "smaller_gpu": "Smaller GPU",
    "quantize": "Quantize",
    "batching": "Batching",
    "host_rightsize": "Right-size host",
    "saturation": "Saturation",
}
TARGET_TYPES = ["host", "gpu", "deployment"]


class Recommendation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        DISMISSED = "dismissed"
        RESOLVED = "resolved"

    kind = models.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    target_type = models.CharField(max_length=16, choices=[(t, t) for t in TARGET_TYPES])
    target_key = models.CharField(max_length=255, help_text="stable id of the target, e.g. gpu:GPU-8f…")
    target_label = models.CharField(max_length=255)
    deployment = models.CharField(max_length=255, blank=True, db_index=True)
    host = models.ForeignKey("telemetry.Host", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="recommendations")  # fmt: skip
    gpu = models.ForeignKey("telemetry.Gpu", null=True, blank=True, on_delete=models.CASCADE,
                            related_name="recommendations")  # fmt: skip
    title = models.CharField(max_length=255)
    reason = models.TextField()
    action = models.TextField(blank=True, help_text="what to change, with the knob and value")
    evidence = models.JSONField(default=list)
    saving_usd_month = models.FloatField(default=0.0)
    saving_kwh_month = models.FloatField(default=0.0)
    saving_kg_co2_month = models.FloatField(default=0.0)
    saving_basis = models.TextField(blank=True, help_text="the arithmetic behind the saving")
    confidence = models.FloatField(help_text="0–1: data coverage × distance from the decision boundary × price basis")
    # A step of its deployment's plan (recommender.plan.Config.as_dict): where it starts, what it proposes,
    # rival options, and its place in the plan. saving_usd_month = current.usd_month − proposed.usd_month.
    current = models.JSONField(null=True, blank=True)
    proposed = models.JSONField(null=True, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    plan_step = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL)  # fmt: skip
    # When someone first acknowledged it (acted on it): kept through later transitions, so its page and the
    # fleet's realized saving (recommender.realized) compare before and after this moment.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    dismissed_saving_usd = models.FloatField(null=True, blank=True, editable=False)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-saving_usd_month", "kind"]
        constraints = [models.UniqueConstraint(fields=["target_key", "kind"], name="one_recommendation_per_target")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)
