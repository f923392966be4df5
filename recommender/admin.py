from __future__ import annotations

from django.contrib import admin

from recommender.models import DeploymentThresholds, GpuType, HostPrice, ModelSpec, Recommendation


@admin.register(GpuType)
class GpuTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "memory_bytes", "tflops_16bit", "fp8", "hourly_price_usd", "price_override_usd",
                    "price_source", "price_date"]  # fmt: skip
    list_editable = ["price_override_usd"]
    search_fields = ["name", "match_names"]


@admin.register(ModelSpec)
class ModelSpecAdmin(admin.ModelAdmin):
    list_display = ["name", "params", "layers", "kv_heads", "head_dim", "default_dtype", "source_date"]
    search_fields = ["name", "aliases"]


@admin.register(HostPrice)
class HostPriceAdmin(admin.ModelAdmin):
    list_display = ["host", "hourly_usd", "note"]
    autocomplete_fields = ["host"]


@admin.register(DeploymentThresholds)
class DeploymentThresholdsAdmin(admin.ModelAdmin):
    list_display = ["deployment", "values"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["title", "kind_name", "status", "deployment", "saving_usd_month", "confidence", "last_seen"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "target_label", "deployment"]
    readonly_fields = [f.name for f in Recommendation._meta.fields if f.name not in ("status", "status_reason")]

    @admin.display(description="kind", ordering="kind")
    def kind_name(self, rec: Recommendation) -> str:
        return rec.kind_label
