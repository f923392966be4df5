"""Hours of the day that the recommender writes in UTC ("22:00–06:00 UTC"), shown in the page's zone.

The recommender stores its advice once, in UTC, for every reader (API, webhooks, email); a dashboard
page shows its times in the viewer's zone (dashboard.middleware), so its schedule spans are converted
as they are rendered and named with that zone, as the page's footer names it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

_TIME = r"\d{2}:\d{2}"
_SPAN = rf"{_TIME}–{_TIME}"
SPANS_UTC = re.compile(rf"(?P<spans>{_SPAN}(?:, {_SPAN})*) UTC\b")


def in_zone(text: str, zone: tzinfo, zone_name: str, day: datetime | None = None) -> str:
    """`text` with each 'HH:MM–HH:MM[, …] UTC' written in `zone` (its offset on `day`, today by default)."""
    if zone_name == "UTC" or "UTC" not in text:
        return text
    day = (day or datetime.now(UTC)).astimezone(UTC)

    def local(match: re.Match) -> str:
        hhmm = match.group(0)
        at = day.replace(hour=int(hhmm[:2]) % 24, minute=int(hhmm[3:]), second=0, microsecond=0)
        return at.astimezone(zone).strftime("%H:%M")

    def spans(match: re.Match) -> str:
        return re.sub(_TIME, local, match.group("spans")) + f" {zone_name}"

    return SPANS_UTC.sub(spans, text)
