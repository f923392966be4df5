"""Alert channels, budgets and the delivery history in the admin; secrets are never shown."""

from __future__ import annotations

from django.contrib import admin

from alerts import testsend
from alerts.forms import ChannelForm
from alerts.models import Attempt, Budget, Channel, Delivery, Event
from recommender.plan import plural


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "shown_target", "enabled", "min_saving_usd_month"]
    list_filter = ["kind", "enabled"]
    actions = ["send_test"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Send a test alert (not retried)")
    def send_test(self, request, queryset):
        for channel in queryset:
            testsend.send_test(channel, request.user)
        self.message_user(request, f"Test queued for {plural(queryset.count(), 'channel')}: see Deliveries.")


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["deployment", "usd_month", "updated_at", "updated_by"]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ["number", "status", "started_at", "duration_ms", "response_status", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "channel", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "channel"]
    readonly_fields = ["event", "channel", "status", "attempts", "error", "created_at", "updated_at",
                       "next_attempt_at", "sent_at"]  # fmt: skip
    inlines = [AttemptInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "type", "subject", "saving_usd_month"]
    list_filter = ["type"]
    readonly_fields = ["uid", "type", "key", "created_at", "subject", "text", "path", "saving_usd_month", "data"]

    def has_add_permission(self, request) -> bool:
        return False
