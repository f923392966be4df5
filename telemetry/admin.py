from __future__ import annotations

from django.contrib import admin

from telemetry.models import Gpu, Host, InferenceServer


class GpuInline(admin.TabularInline):
    model = Gpu
    extra = 0
    fields = ["index", "name", "uuid", "memory_total_bytes", "power_limit_w", "active"]
    readonly_fields = fields


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["hostname", "deployment", "machine_id", "instance_type", "agent_version", "last_seen"]
    list_filter = ["deployment"]
    search_fields = ["hostname", "machine_id", "deployment"]
    readonly_fields = [
        "machine_id",
        "deployment",
        "first_seen",
        "last_seen",
        "agent_version",
        "agent_token",
        "gpu_processes",
    ]
    inlines = [GpuInline]


@admin.register(InferenceServer)
class InferenceServerAdmin(admin.ModelAdmin):
    list_display = ["server_id", "host", "kind", "model", "dtype", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["server_id", "model", "host__hostname"]
