"""The trends page over hand-built hourly rollups: daily cost and utilization, cost per million tokens per
deployment (a day with no tokens is a gap), the cost split by a label and one label value's drill-down, its CSV,
any from/to range of whole days, and bad query values.

Three hosts over two days of a 7-day window (now = 2026-03-11 12:00 UTC, so the window is 03-04..03-10):
  h1 team=search, deployment=chat, $2/h (its own HostPrice), 2 GPUs, server s1
  h2 team=ads,    deployment=chat, $730/month in its summary = $1/h, 1 GPU, server s2
  h3 no team,     deployment=embed, $2,190/month = $3/h, 1 GPU, server s3
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard import trend_days, trends
from dashboard.models import TrendDay, TrendDayDone
from dashboard.tasks import sum_trend_days
from recommender.models import HostPrice
from telemetry.models import Host, InferenceServer
from tests.dashboard import trend_rollups
from tests.dashboard.trend_rollups import H, hours

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
D1, D2 = datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_viewer(client, django_user_model):
    """A viewer without a password to hash (the persona fixture's costs a second a test on a busy machine)."""
    client.force_login(django_user_model.objects.create(username="trends-viewer"))
    return client


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rollups(now):
    h1, h2, h3 = trend_rollups.seed(D1, D2)
    # Outside: the day before the window, today (not a complete day), and a 5-minute row inside it.
    h1_gpus, h2_gpus = list(h1.gpus.all()), list(h2.gpus.all())
    hours(h1, h1_gpus, h1.servers.get(), datetime(2026, 3, 3, 23, tzinfo=UTC), 1, 3600, [90, 90], 500.0)
    hours(h1, h1_gpus, h1.servers.get(), datetime(2026, 3, 11, tzinfo=UTC), 2, 3600, [90, 90], 500.0)
    hours(h2, h2_gpus, h2.servers.get(), D2 + 5 * H, 1, 300, [90], 500.0, period_s=300)
    return h1, h2, h3


def _build(days=7, key="team") -> dict:
    return trends.build(trends.Query(days, key), trends.host_labels())


def test_the_fleet_costs_each_host_its_reported_hours_times_its_price(rollups):
    data = _build()
    fleet = data["fleet"]
    assert (data["first"], data["last"]) == ("2026-03-04", "2026-03-10")
    # the charts start at the first day with data (D1), not five empty days before it
    assert (data["data_first"], data["data_days"]) == ("2026-03-09", 2)
    assert data["from"] == int(D1.timestamp() * 1000)
    assert len(fleet["t"]) == 2 and fleet["t"][-1] == int((D2 + 12 * H).timestamp() * 1000)
    # D1: h1 10 h × $2 + h2 4 × 0.5 h × $1 + h3 2 h × $3; D2: h1 1 h × $2 + h3 1 h × $3.
    assert fleet["cost_usd"] == [28.0, 5.0]
    assert fleet["total_usd"] == 33.0
    # Time-weighted: D1 (50·36000 + 10·36000 + 80·7200 + 0·7200) / 86400 s; D2 (100·3600·2 + 20·3600) / 10800 s.
    assert fleet["util_pct"] == [31.67, 73.33]
    assert fleet["gpus_busy"][0] == round(27360 / 86400, 2) and fleet["gpus_idle"][0] == round(59040 / 86400, 2)
    assert fleet["unpriced_hosts"] == 0


def test_cost_per_million_tokens_leaves_a_gap_on_a_day_without_tokens(rollups):
    deployments = {d["name"]: d for d in _build()["deployments"]}
    chat, embed = deployments["chat"], deployments["embed"]
    # chat D1: ($20 + $2) / (100·36000 + 50·7200 tokens = 3.96 M); D2: $2 and no tokens.
    assert chat["usd_per_million"] == [round(22 / 3.96, 4), None]
    assert chat["cost_usd"] == 24.0 and chat["tokens"] == 3_960_000 and chat["days_without_tokens"] == 1
    assert chat["usd_per_million_range"] == round(24 / 3.96, 4)
    # embed D1: $6 and no tokens; D2: $3 / 36,000 tokens.
    assert embed["usd_per_million"] == [None, round(3 / 0.036, 4)]
    assert embed["usd_per_million_range"] == 250.0
    assert list(deployments) == ["chat", "embed"]  # the costliest first


def test_a_deployment_with_cost_and_no_tokens_is_listed_and_an_image_model_makes_no_tokens(rollups, as_viewer):
    # an idle deployment (no server) and a Triton image model reporting gen_tps: both cost, neither generates tokens;
    # a Triton server of a catalog LLM does
    idle, idle_gpus, idle_server = trend_rollups.host("idle-gpu", {"deployment": "idle-gpu"}, 1)
    idle_server.delete()
    trend_rollups.summary(idle, 730.0 * 4)  # $4/h
    hours(idle, idle_gpus, None, D1, 3, 3600, [0], None)
    vision, vision_gpus, resnet = trend_rollups.host("vision-1", {"deployment": "vision"}, 1)
    InferenceServer.objects.filter(pk=resnet.pk).update(kind="triton", model="resnet50")
    trend_rollups.summary(vision, 730.0)
    hours(vision, vision_gpus, resnet, D1, 2, 3600, [60], 5000.0)
    llm, llm_gpus, triton_llm = trend_rollups.host("llm-1", {"deployment": "triton-llm"}, 1)
    InferenceServer.objects.filter(pk=triton_llm.pk).update(kind="triton", model="meta-llama/Llama-3.1-8B-Instruct")
    trend_rollups.summary(llm, 730.0)
    hours(llm, llm_gpus, triton_llm, D1, 1, 3600, [60], 100.0)
    deployments = {d["name"]: d for d in _build()["deployments"]}
    assert deployments["idle-gpu"]["tokens"] == 0 and deployments["idle-gpu"]["cost_usd"] == 12.0
    assert deployments["idle-gpu"]["days_without_tokens"] == 1 and deployments["idle-gpu"]["usd_per_million"] == [
        None, None]  # fmt: skip
    assert deployments["vision"]["tokens"] == 0 and deployments["vision"]["usd_per_million_range"] is None
    assert deployments["triton-llm"]["tokens"] == 360_000
    page = as_viewer.get("/trends/?days=7&key=team").content.decode()
    assert page.count("no tokens</span>") == 2
    assert "2 days of data in the last 7" in page


def test_the_label_split_adds_up_to_the_fleet_with_an_unlabelled_row(rollups):
    split = _build()["labels"]
    rows = {r["value"]: r for r in split["rows"]}
    assert [r["value"] for r in split["rows"]] == ["search", "ads", "(unlabelled)"]
    search, ads, rest = rows["search"], rows["ads"], rows["(unlabelled)"]
    assert (search["hosts"], search["gpus"], search["cost_usd"]) == (1, 2, 22.0)
    # (50·36000 + 10·36000 + 100·3600·2) / (2·36000 + 2·3600) = 36.36 %; idle = $22 × (1 − 0.3636).
    assert search["util_pct"] == 36.36 and search["idle_cost_usd"] == 14.0
    assert (ads["cost_usd"], ads["util_pct"], ads["idle_cost_usd"]) == (2.0, 80.0, 0.4)
    assert rest["unlabelled"] and (rest["cost_usd"], rest["util_pct"], rest["idle_cost_usd"]) == (9.0, 6.67, 8.4)
    assert [r["share_pct"] for r in split["rows"]] == [66.67, 6.06, 27.27]
    assert split["totals"]["cost_usd"] == 33.0 == sum(r["cost_usd"] for r in split["rows"])
    assert (split["totals"]["hosts"], split["totals"]["gpus"]) == (3, 4)


def test_a_price_set_now_reprices_the_whole_range_at_once(rollups):
    assert _build()["fleet"]["total_usd"] == 33.0  # and kept in the cache
    HostPrice.objects.create(host=rollups[1], hourly_usd=10.0)  # h2: 2 h reported on day 1
    assert _build()["fleet"]["cost_usd"] == [20.0 + 2 * 10.0 + 6.0, 5.0]


def test_the_label_keys_list_the_most_common_first(rollups):
    assert trends.label_keys(trends.host_labels()) == ["deployment", "team"]


def test_a_day_summed_before_it_settled_is_summed_again(rollups):
    with time_machine.travel(datetime(2026, 3, 11, 1, 0, tzinfo=UTC), tick=False):
        assert _build()["fleet"]["cost_usd"][-1] == 5.0
        h2 = rollups[1]
        hours(h2, list(h2.gpus.all()), h2.servers.get(), D2 + 23 * H, 1, 3600, [50], 1.0)  # rolled up late
    with time_machine.travel(datetime(2026, 3, 11, 3, 0, tzinfo=UTC), tick=False):
        assert _build()["fleet"]["cost_usd"][-1] == 6.0
        final = TrendDayDone.objects.get(day=D2.date()).computed_at
        assert final == timezone.now()
    with time_machine.travel(datetime(2026, 3, 11, 4, 0, tzinfo=UTC), tick=False):
        _build()
        assert TrendDayDone.objects.get(day=D2.date()).computed_at == final  # final: not summed again
    assert TrendDay.objects.filter(day=D2.date()).count() == 3


def test_a_page_sums_the_latest_days_it_can_and_the_hourly_job_the_rest(rollups, monkeypatch):
    monkeypatch.setattr(trend_days, "INLINE_GPU_DAYS", 8)  # 4 GPUs: two days a page
    data = _build()
    assert data["pending_days"] == 5 and data["fleet"]["cost_usd"][-2:] == [28.0, 5.0]
    assert sorted(TrendDayDone.objects.values_list("day", flat=True)) == [D1.date(), D2.date()]
    old = datetime(2025, 1, 1, tzinfo=UTC).date()  # before the longest range: dropped
    TrendDayDone.objects.create(day=old, computed_at=NOW)
    TrendDay.objects.create(day=old, host=rollups[0], host_s=3600)
    sum_trend_days()  # the whole longest range
    assert TrendDayDone.objects.count() == trends.MAX_DAYS and not TrendDay.objects.filter(day=old).exists()
    assert _build()["pending_days"] == 0


def test_the_page_shows_the_tables_and_the_chart_data_to_a_viewer(rollups, as_viewer):
    resp = as_viewer.get("/trends/?days=7&key=team")
    assert resp.status_code == 200
    page = resp.content.decode()
    assert 'id="trends-data"' in page and 'id="label-table"' in page and 'id="token-table"' in page
    assert resp.context["data"]["fleet"]["total_usd"] == 33.0
    assert "/trends/labels.csv?key=team&amp;days=7" in page
    assert as_viewer.get("/trends/").context["query"].key == "deployment"  # the most common key by default


def test_the_page_makes_as_many_queries_whatever_the_fleet_size(rollups, as_viewer):
    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert as_viewer.get("/trends/?days=7&key=team&value=search").status_code == 200
        return len(ctx.captured_queries)

    queries()  # sums the days
    few = queries()
    for i in range(4):
        team = "search" if i % 2 else f"t{i}"  # more hosts under the drilled value too
        host, gpus, server = trend_rollups.host(f"more-{i}", {"team": team, "deployment": f"d{i}"}, 2)
        hours(host, gpus, server, D1, 3, 3600, [10, 20], 5.0)
    TrendDayDone.objects.all().delete()  # summed again with the new hosts
    queries()
    assert queries() == few


def test_anonymous_people_are_sent_to_log_in(client):
    assert client.get("/trends/").status_code == 302
    assert client.get("/trends/labels.csv?key=team").status_code == 302


def test_hostile_label_values_are_escaped_and_cut_in_the_page(rollups, as_viewer):
    h1 = rollups[0]
    h1.labels["team"] = "<script>alert(1)</script>" + "x" * 300
    h1.save()
    page = as_viewer.get("/trends/?days=7&key=team").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'title="&lt;script&gt;alert(1)&lt;/script&gt;{"x" * 300}"' in page  # whole in its title
    assert f"&lt;/script&gt;{'x' * 300}</span>" not in page  # cut in the cell


def test_the_csv_has_numbers_totals_and_defends_against_formulas(rollups, as_viewer):
    h2 = rollups[1]
    h2.labels["team"] = '=HYPERLINK("http://x")'
    h2.save()
    resp = as_viewer.get("/trends/labels.csv?key=team&days=7")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    # the span starts at the first day with data, not the 7-day range's start: 2 days of cost, not 7
    assert resp["Content-Disposition"] == 'attachment; filename="rightsizer-cost-by-team-2026-03-09-2026-03-10.csv"'
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert [r["value"] for r in rows] == ["search", '\'=HYPERLINK("http://x")', "(unlabelled)", "(total)"]
    assert [r["cost_usd"] for r in rows] == ["22.0", "2.0", "9.0", "33.0"]
    assert rows[0]["util_pct"] == "36.36" and rows[2]["unlabelled"] == "true"
    assert {(r["first_day"], r["last_day"]) for r in rows} == {("2026-03-09", "2026-03-10")}
    assert sum(float(r["cost_usd"]) for r in rows[:-1]) == float(rows[-1]["cost_usd"])


@pytest.mark.parametrize("url", ["/trends/?days=abc", "/trends/labels.csv?key=team&days=abc"])
def test_days_that_are_not_a_number_answer_400_with_what_to_send(as_viewer, url):
    resp = as_viewer.get(url)
    assert resp.status_code == 400
    assert "days must be a whole number of days from 1 to 90" in resp.content.decode()


def test_too_many_days_are_clamped_with_a_note(rollups, as_viewer):
    resp = as_viewer.get("/trends/?days=99999&key=team")
    assert resp.status_code == 200 and resp.context["query"].days == 90
    assert "Showing 90 days" in resp.content.decode()
    # from the first day with data: the hour on 03-03 (before the 7-day window, inside 90 days) to 03-10
    assert len(resp.context["data"]["fleet"]["t"]) == 8
    assert "8 days of data in the last 90" in resp.content.decode()


@pytest.mark.parametrize("url", ["/trends/?key=", "/trends/labels.csv?key="])
def test_a_label_key_too_long_answers_400(as_viewer, url):
    resp = as_viewer.get(url + "k" * 101)
    assert resp.status_code == 400
    assert "at most 100 characters" in resp.content.decode()


def test_days_are_summed_a_week_at_a_time_the_latest_first():
    days = [D1.date() - (9 - i) * H * 24 for i in range(10)] + [D2.date() + 2 * H * 24]
    runs = trend_days._runs(days)
    assert [len(r) for r in runs] == [1, 3, 7]  # the lone day after a gap, then the ten split at seven
    assert runs[0] == [days[-1]] and runs[1][-1] == D1.date() and runs[2][0] == days[0]


def test_a_from_to_range_covers_its_whole_utc_days_and_the_csv_the_same(rollups, as_viewer):
    # 03-03 (h1's hour at 23:00: $2, both GPUs at 90 %) to 03-09 (D1): D2 (03-10) is left out.
    resp = as_viewer.get("/trends/?from=2026-03-03&to=2026-03-09&key=team")
    assert resp.status_code == 200
    data, query = resp.context["data"], resp.context["query"]
    assert (query.days, query.note, data["first"], data["last"], data["data_days"]) == (7, "", "2026-03-03",
                                                                                      "2026-03-09", None)  # fmt: skip
    assert data["fleet"]["cost_usd"] == [2.0, None, None, None, None, None, 28.0]
    assert data["fleet"]["util_pct"][0] == 90.0 and data["fleet"]["total_usd"] == 30.0
    # search: h1 $2 on 03-03 + $20 on D1; ads: h2 $2; unlabelled: h3 $6
    assert [(r["value"], r["cost_usd"]) for r in data["labels"]["rows"]] == [("search", 22.0), ("ads", 2.0),
                                                                            ("(unlabelled)", 6.0)]  # fmt: skip
    page = resp.content.decode()
    assert "7 complete UTC days (2026-03-03 to 2026-03-09)" in page
    assert 'value="2026-03-03"' in page and 'value="2026-03-09"' in page and 'min="2025-12-11"' in page
    assert "/trends/labels.csv?key=team&amp;from=2026-03-03&amp;to=2026-03-09" in page
    assert "?from=2026-03-03&amp;to=2026-03-09&amp;key=team&amp;value=%28unlabelled%29#label-drill" in page
    csv_resp = as_viewer.get("/trends/labels.csv?key=team&from=2026-03-03&to=2026-03-09")
    assert csv_resp["Content-Disposition"].endswith('rightsizer-cost-by-team-2026-03-03-2026-03-09.csv"')
    rows = list(csv.DictReader(io.StringIO(csv_resp.content.decode())))
    assert [(r["value"], r["cost_usd"]) for r in rows] == [("search", "22.0"), ("ads", "2.0"), ("(unlabelled)", "6.0"),
                                                           ("(total)", "30.0")]  # fmt: skip
    one = as_viewer.get("/trends/?from=2026-03-10&to=2026-03-10&key=team").context["data"]["fleet"]
    assert one["cost_usd"] == [5.0]  # a single day: D2 alone


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("from=2026-03-09&to=2026-03-03", "from (2026-03-09) is after to (2026-03-03)"),
        ("from=2026-13-01&to=2026-03-03", "from must be a day as YYYY-MM-DD"),
        ("from=2026-03-01&to=yesterday", "to must be a day as YYYY-MM-DD"),
        ("from=2026-03-12&to=2026-03-20", "is outside the days kept: the trends keep 2025-12-11 to 2026-03-10"),
        ("from=2024-01-01&to=2024-02-01", "is outside the days kept"),
    ],
)
def test_a_bad_range_answers_400_on_the_page_and_the_csv(as_viewer, now, params, message):
    for url in (f"/trends/?{params}", f"/trends/labels.csv?key=team&{params}"):
        resp = as_viewer.get(url)
        assert resp.status_code == 400 and message in resp.content.decode(), url


def test_a_range_reaching_past_the_kept_days_is_clamped_with_a_note(rollups, as_viewer):
    future = as_viewer.get("/trends/?from=2026-03-09&to=2026-03-20&key=team")
    assert future.status_code == 200 and future.context["query"].last.isoformat() == "2026-03-10"
    assert future.context["data"]["fleet"]["cost_usd"] == [28.0, 5.0]
    assert "Ending at 2026-03-10: the last complete UTC day" in future.content.decode()
    old = as_viewer.get("/trends/?from=2025-01-01&to=2026-03-09&key=team")
    assert old.status_code == 200 and old.context["query"].days == 89  # 2025-12-11 to 2026-03-09
    assert "Starting at 2025-12-11: the trends keep 2025-12-11 to 2026-03-10" in old.content.decode()
    # only `from`: to yesterday
    assert as_viewer.get("/trends/?from=2026-03-09").context["data"]["fleet"]["cost_usd"] == [28.0, 5.0]


def test_a_label_value_drills_into_its_hosts_daily_cost_utilization_and_list(rollups, as_viewer):
    h1, _, h3 = rollups
    resp = as_viewer.get("/trends/?days=7&key=team&value=search")
    drill = resp.context["data"]["drill"]
    # h1 alone: D1 10 h × $2 with its GPUs at 50 % and 10 %; D2 1 h × $2 with both at 100 %.
    assert drill["series"]["cost_usd"] == [20.0, 2.0] and drill["series"]["total_usd"] == 22.0
    assert drill["series"]["util_pct"] == [30.0, 100.0]
    assert drill["series"]["gpus_busy"] == [round(21600 / 86400, 2), round(7200 / 86400, 2)]
    assert drill["hosts"] == [{"id": h1.pk, "hostname": "h1", "reported": True, "cost_usd": 22.0,
                               "util_pct": 36.36}]  # fmt: skip
    page = resp.content.decode()
    assert f'href="/hosts/{h1.pk}/"' in page and 'id="drill-charts"' in page
    assert resp.context["chart_data"]["drill"]["series"]["cost_usd"] == [20.0, 2.0]
    assert 'name="value" id="trends-value" value="search"' in page  # the form keeps the drill-down
    # (unlabelled): h3, D1 2 h × $3 idle, D2 1 h × $3 at 20 %
    rest = as_viewer.get("/trends/?days=7&key=team&value=(unlabelled)").context["data"]["drill"]
    assert rest["unlabelled"] and rest["series"]["cost_usd"] == [6.0, 3.0] and rest["series"]["util_pct"] == [0.0, 20.0]
    assert [(h["hostname"], h["cost_usd"], h["util_pct"]) for h in rest["hosts"]] == [("h3", 9.0, 6.67)]
    # over a from/to range: 03-03 (h1's $2 at 90 %) to D1
    ranged = as_viewer.get("/trends/?from=2026-03-03&to=2026-03-09&key=team&value=search").context["data"]["drill"]
    assert ranged["series"]["cost_usd"] == [2.0, None, None, None, None, None, 20.0]
    assert ranged["hosts"][0]["cost_usd"] == 22.0
    nobody = as_viewer.get("/trends/?days=7&key=team&value=nobody")
    assert nobody.context["data"]["drill"]["host_count"] == 0 and 'id="drill-empty"' in nobody.content.decode()


def test_a_drilled_value_is_escaped_cut_and_bounded(rollups, as_viewer):
    hostile = "<script>alert(1)</script>" + "y" * 200
    Host.objects.filter(pk=rollups[0].pk).update(labels={"team": hostile, "deployment": "chat"})
    page = as_viewer.get("/trends/", {"days": 7, "key": "team", "value": hostile}).content.decode()
    assert "<script>alert(1)" not in page and 'id="drill-charts"' in page
    assert f"&lt;/script&gt;{'y' * 200}</span></h2>" not in page  # cut in the heading
    resp = as_viewer.get("/trends/", {"key": "team", "value": "v" * 256})
    assert resp.status_code == 400 and "A label value is at most 255 characters" in resp.content.decode()
