"""The fleet page right after the first host's first push: no "$0.00 · 1 host unpriced"."""

from __future__ import annotations

import pytest

from recommender.models import HostSummary
from recommender.tasks import summarize_new
from tests.batches import batch, post

pytestmark = pytest.mark.django_db


def test_a_new_host_is_pending_not_unpriced_and_costed_by_the_minute_job(client, admin, agent_token):
    assert post(client, agent_token[1], batch(hostname="first-host")).status_code == 202
    client.force_login(admin)
    page = client.get("/").content.decode()
    assert "host unpriced" not in page and '<b id="fleet-cost">$0.00</b>' not in page
    assert '<b id="fleet-cost">—</b>' in page and "1 new host costed within a minute" in page

    assert summarize_new.apply().get() == 1  # the every-minute job: only hosts without a summary
    assert HostSummary.objects.get(host__hostname="first-host").usd_month > 0  # an A10G's list price
    page = client.get("/").content.decode()
    assert "new host costed" not in page and "host unpriced" not in page and '<b id="fleet-cost">$' in page
    assert summarize_new.apply().get() == 0  # nothing new: one query, nothing written
