"""Schedules the recommender writes in UTC read in the page's zone, as every other time on the page."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard.localtime import in_zone
from tests.dashboard import recs

BERLIN, KOLKATA = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
WINTER, SUMMER = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)


def test_spans_move_to_the_zone_with_its_offset_on_the_day():
    text = "Run 4 replicas during 08:00–20:00 UTC and 2 otherwise."
    assert (
        in_zone(text, BERLIN, "Europe/Berlin", WINTER)
        == "Run 4 replicas during 09:00–21:00 Europe/Berlin and 2 otherwise."
    )
    assert (
        in_zone(text, BERLIN, "Europe/Berlin", SUMMER)
        == "Run 4 replicas during 10:00–22:00 Europe/Berlin and 2 otherwise."
    )
    assert (
        in_zone("00:00–06:00, 22:00–00:00 UTC", KOLKATA, "Asia/Kolkata", WINTER)
        == "05:30–11:30, 03:30–05:30 Asia/Kolkata"
    )


def test_utc_pages_and_other_text_are_left_alone():
    assert in_zone("08:00–20:00 UTC", ZoneInfo("UTC"), "UTC") == "08:00–20:00 UTC"
    assert in_zone("p95 at 12:00 UTC, memory 80%", BERLIN, "Europe/Berlin") == "p95 at 12:00 UTC, memory 80%"


@pytest.mark.django_db
def test_a_recommendation_page_shows_its_schedule_in_the_viewers_zone(as_viewer):
    schedule = {"peak_replicas": 4, "off_replicas": 2, "peak_hours_utc": list(range(8, 20)), "text": "08:00–20:00 UTC"}
    summary = "4 replicas × 1 H100 80GB during 08:00–20:00 UTC, 2 replicas otherwise at bf16"
    proposed = recs.config("H100 80GB", 1, 4, "bf16", 7000.0, 900.0, schedule=schedule, summary=summary)
    rec = recs.rec("scale_down", "chat", step=1, current=recs.TODAY, proposed=proposed,
                   title="Scale chat on a schedule: 4 replicas during 08:00–20:00 UTC, 2 otherwise (now 8 × 4)",
                   action="Run 4 replicas of 1 GPU during 08:00–20:00 UTC and 2 otherwise.")  # fmt: skip
    as_viewer.cookies["tz"] = "Europe/Berlin"
    page = as_viewer.get(f"/recommendations/{rec.pk}/").content.decode()
    start, end = (datetime.now(UTC).replace(hour=h, minute=0).astimezone(BERLIN).strftime("%H:%M") for h in (8, 20))
    local = f"{start}–{end} Europe/Berlin"
    assert f"4 replicas during {local}, 2 otherwise" in page  # the title, as the heading and the page's title
    assert f"Run 4 replicas of 1 GPU during {local} and 2 otherwise." in page
    assert f"4 replicas × 1 H100 80GB during {local}, 2 replicas otherwise at bf16" in page  # said once, in it
    assert f"(4 replicas {local}, 2 otherwise)" not in page
    assert "08:00–20:00 UTC" not in page and 'id="viewer-zone">Europe/Berlin<' in page
    as_viewer.cookies["tz"] = ""
    assert "during 08:00–20:00 UTC, 2 otherwise" in as_viewer.get(f"/recommendations/{rec.pk}/").content.decode()
