"""Slack: incoming-webhook blocks with the saving, the action and a link back, to a real receiver."""

from __future__ import annotations

import json

import pytest

from alerts.emit import emit
from alerts.models import Channel, Delivery
from tests.receivers import http_receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("local_receivers")]


def test_slack_gets_blocks_with_the_saving_the_action_and_a_link_back(eager, settings):
    settings.SITE_URL = "https://rightsizer.example.com"
    got = []
    with http_receiver(lambda req: (got.append(json.loads(req.body)) or 200, b"ok", {})) as url:
        Channel.objects.create(kind="slack", name="#gpu-costs", target=url + "/services/T0/B0/x",
                               events=["plan_step.new"])  # fmt: skip
        emit("plan_step.new", "rec:9", "Plan step 1 for chat-prod: 4 → 2 replicas ($7,300/month)",
             "p95 load fits in 2 replicas.", "/recommendations/9/", 7300.0,
             {"action": "Set replicas: 2 in the chat-prod deployment."})  # fmt: skip
    assert len(got) == 1
    message = got[0]
    assert message["text"].startswith("Plan step 1 for chat-prod")
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "section", "actions"]
    fields = " ".join(f["text"] for f in message["blocks"][2]["fields"])
    assert "$7,300/month" in fields and "Set replicas: 2" in fields
    assert message["blocks"][3]["elements"][0]["url"] == "https://rightsizer.example.com/recommendations/9/"
    assert Delivery.objects.get().status == "sent"


def test_slack_text_is_escaped_and_a_recommendation_s_confidence_shown():
    from alerts.channels.slack import blocks
    from alerts.models import Event

    event = Event(type="recommendation.new", subject="a <b> & c", text="p95 < 5% & idle <@here>", path="/x/",
                  saving_usd_month=1900.0, data={"action": "Set replicas <= 2.", "confidence": 0.284})  # fmt: skip
    message = blocks(event)
    assert message["blocks"][0]["text"]["text"] == "a <b> & c"  # plain_text: as written
    assert message["blocks"][1]["text"]["text"] == "p95 &lt; 5% &amp; idle &lt;@here&gt;"
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert fields == ["*Saving*\n$1,900/month", "*Action*\nSet replicas &lt;= 2.", "*Confidence*\n0.28"]
