"""Show times in the viewer's zone: the browser tells it (the `tz` cookie, set by app.js)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

COOKIE = "tz"


class ViewerTimezone:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get(COOKIE, "")
        try:
            zone = ZoneInfo(name) if name and len(name) < 64 else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        request.viewer_tz = zone.key if zone else "UTC"
        return self.get_response(request)
