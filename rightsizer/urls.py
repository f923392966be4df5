from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control

from rightsizer.api import api
from rightsizer.metrics_view import metrics_view


@cache_control(max_age=86400, public=True)
def no_favicon(request: HttpRequest) -> HttpResponse:
    """The admin's pages name no icon, so browsers ask for this one; answer "none" rather than a 404."""
    return HttpResponse(status=204)


urlpatterns = [
    path("favicon.ico", no_favicon),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
