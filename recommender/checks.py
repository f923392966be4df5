"""Start-up checks: the fleet-wide thresholds are known names within their bounds."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def thresholds_check(app_configs=None, **kwargs) -> list[Error]:
    from recommender.thresholds import parse

    try:
        parse(settings.RECOMMENDER_THRESHOLDS)
    except ValueError as exc:
        return [
            Error(
                f"RIGHTSIZER_RECOMMENDER_THRESHOLDS: {exc}",
                hint="Fix or unset the variable; the README lists each threshold with its unit and bounds.",
                id="recommender.E001",
            )
        ]
    return []
