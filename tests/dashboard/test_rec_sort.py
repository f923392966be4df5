"""The recommendations list sorted and searched: orders, search, paging, kind names, and a total that no
order changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommender.models import Recommendation
from telemetry.models import Host, InferenceServer
from tests.dashboard import recs

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed():
    """Four pieces of advice that each sort differently: saving, confidence, host, kind and age disagree."""
    now = timezone.now()
    alpha, zulu = recs.host("alpha-1", "chat"), recs.host("zulu-9", "search")
    made = [
        recs.rec("idle", "chat", target_host=alpha, title="Release alpha", saving_usd_month=900.0,
                 confidence=0.5, first_seen=now - timedelta(days=2)),
        recs.rec("host_rightsize", "search", target_host=zulu, title="Shrink zulu", saving_usd_month=300.0,
                 confidence=0.9, first_seen=now - timedelta(days=9)),
        recs.rec("batching", "search", title="Batch more on search", saving_usd_month=0.0, confidence=0.7,
                 first_seen=now - timedelta(days=1)),
        recs.rec("scale_down", "chat", step=1, current=recs.TODAY, proposed=recs.SCALED, title="Scale chat down",
                 confidence=0.6, first_seen=now - timedelta(days=5)),
    ]  # fmt: skip
    return {r.title: r for r in made}


def titles(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<a href="/recommendations/\d+/">([^<]+)</a>', html)


def test_each_sort_orders_the_list_and_a_second_click_reverses_it(as_viewer, listed):
    by = {s: titles(as_viewer.get("/recommendations/", {"sort": s})) for s in
          ("", "impact", "-impact", "confidence", "host", "kind", "age", "-age")}  # fmt: skip
    assert by[""] == by["impact"] == ["Scale chat down", "Release alpha", "Shrink zulu", "Batch more on search"]
    assert by["-impact"] == list(reversed(by["impact"]))
    assert by["confidence"] == ["Shrink zulu", "Batch more on search", "Scale chat down", "Release alpha"]
    # hostname; deployment-wide advice after its deployment's (first) host's own: alpha-1, chat, zulu-9, search
    assert by["host"] == ["Release alpha", "Scale chat down", "Shrink zulu", "Batch more on search"]
    assert titles(as_viewer.get("/recommendations/", {"sort": "-host"})) == list(reversed(by["host"]))
    # by the name people read: Batching, Idle capacity, Right-size host, Scale down
    assert by["kind"] == ["Batch more on search", "Release alpha", "Shrink zulu", "Scale chat down"]
    assert by["age"] == ["Shrink zulu", "Scale chat down", "Release alpha", "Batch more on search"]
    assert by["-age"] == list(reversed(by["age"]))
    page = as_viewer.get("/recommendations/", {"sort": "confidence", "q": "a"}).content.decode()
    assert 'href="?q=a&amp;sort=-confidence" class="sorted" aria-current="true">confidence ▼' in page
    assert 'href="?q=a&amp;sort=host">host ▲</a>' in page  # each link says which way a click sorts
    assert 'href="?q=a&amp;sort=impact">saving / impact ▼</a>' in page
    page = as_viewer.get("/recommendations/", {"sort": "-confidence"}).content.decode()
    assert 'href="?sort=confidence" class="sorted" aria-current="true">confidence ▲' in page


def test_the_total_is_capped_per_deployment_whatever_the_order(as_viewer, listed):
    # chat's scale-down (7,300) and its host's idle advice (9,000) add up to more than its plan says chat costs
    Recommendation.objects.filter(title="Release alpha").update(saving_usd_month=9000.0)
    totals = set()
    for sort in ("impact", "-impact", "confidence", "host", "kind", "age"):
        page = as_viewer.get("/recommendations/", {"sort": sort}).content.decode()
        (total,) = re.findall(r"<b>(\$[\d,]+)</b><span class=\"muted\">saving / month \(capped", page)
        totals.add(total)
    assert totals == {"$14,900"}  # chat capped at 14,600 + search's 300


def test_search_finds_by_host_deployment_or_title_and_says_when_nothing_does(as_viewer, listed):
    # zulu-9's own advice and its deployment's (deployment-wide advice has no host of its own)
    assert set(titles(as_viewer.get("/recommendations/", {"q": "ZULU"}))) == {"Shrink zulu", "Batch more on search"}
    assert titles(as_viewer.get("/recommendations/", {"q": "release"})) == ["Release alpha"]
    assert set(titles(as_viewer.get("/recommendations/", {"q": "search"}))) == {"Shrink zulu", "Batch more on search"}
    assert titles(as_viewer.get("/recommendations/", {"q": "scale chat"})) == ["Scale chat down"]
    page = as_viewer.get("/recommendations/", {"q": "<nothing>"}).content.decode()
    assert "No recommendation matches “&lt;nothing&gt;” with these filters." in page
    assert 'value="&lt;nothing&gt;"' in page  # the search box keeps what was typed


def test_search_finds_deployment_advice_by_a_host_of_it_and_advice_by_the_served_model(as_viewer, listed):
    alpha = Host.objects.get(hostname="alpha-1")
    InferenceServer.objects.create(host=alpha, server_id="vllm:8000", kind="vllm",
                                   model="meta-llama/Llama-3.1-8B-Instruct")  # fmt: skip
    # the host's own advice and its deployment's, as the host's page lists them; not the other deployment's
    assert set(titles(as_viewer.get("/recommendations/", {"q": "alpha-1"}))) == {"Release alpha", "Scale chat down"}
    assert set(titles(as_viewer.get("/recommendations/", {"q": "llama"}))) == {"Release alpha", "Scale chat down"}
    with CaptureQueriesContext(connection) as ctx:
        as_viewer.get("/recommendations/", {"q": "LLAMA-3.1"})
    assert len(ctx.captured_queries) < 20  # one list query however many rows: no per-row lookup
    assert titles(as_viewer.get("/recommendations/", {"q": "zulu-9", "sort": "host"})) == [
        "Shrink zulu", "Batch more on search"]  # fmt: skip


def test_kinds_read_as_words_in_the_list_its_filter_and_a_recommendation_page(as_viewer, listed):
    page = as_viewer.get("/recommendations/").content.decode()
    assert "<td>Right-size host</td>" in page and "<td>host_rightsize</td>" not in page
    assert '<option value="host_rightsize" >Right-size host</option>' in page
    assert titles(as_viewer.get("/recommendations/", {"kind": "host_rightsize"})) == ["Shrink zulu"]
    detail = as_viewer.get(f"/recommendations/{listed['Shrink zulu'].pk}/").content.decode()
    assert "<dt>Kind</dt><dd>Right-size host</dd>" in detail


def test_pages_keep_the_sort_and_search(as_viewer, listed, monkeypatch):
    monkeypatch.setattr("dashboard.views.recommendations.PER_PAGE", 2)
    first = as_viewer.get("/recommendations/", {"sort": "age", "q": "s"})
    assert titles(first) == ["Shrink zulu", "Scale chat down"]
    assert 'href="?sort=age&amp;q=s&amp;page=2"' in first.content.decode()
    second = as_viewer.get("/recommendations/", {"sort": "age", "q": "s", "page": 2})
    assert titles(second) == ["Release alpha", "Batch more on search"]
    assert "page 2 of 2 · 4 recommendations" in second.content.decode()


def test_sorting_searching_and_paging_cost_no_extra_query(as_viewer, listed, monkeypatch):
    monkeypatch.setattr("dashboard.views.recommendations.PER_PAGE", 2)
    counts = []
    for query in ({}, {"sort": "-kind", "q": "s", "page": 2}):
        with CaptureQueriesContext(connection) as queries:
            assert as_viewer.get("/recommendations/", query).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
