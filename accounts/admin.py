"""Tokens in the admin: an agent token made here is shown once; personal tokens are made by their users."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from accounts.models import AgentToken, ApiToken

# The admin's login page says how to reset a lost password, as the dashboard's does.
admin.site.login_template = "accounts/admin_login.html"
# The product's name in the admin's header, tab title and index, not Django's.
admin.site.site_header = "Rightsizer administration"
admin.site.site_title = "Rightsizer admin"
admin.site.index_title = "Rightsizer"


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else ["name", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = AgentToken.issue(obj.name, created_by=request.user)
        obj.pk = token.pk  # so the admin's redirect and log entry name the new row
        messages.warning(
            request,
            f"Agent token {obj.name!r}: {raw} — copy it now, it is not shown again. "
            "Put it in the agent's configuration (RIGHTSIZER_TOKEN).",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        n = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {n} token(s); agents using them now get 401.")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # created by manage.py create_api_token (or Settings), so the secret is shown once

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke()
