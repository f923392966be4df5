"""A simulated fleet with two days of history, rolled up, analysed and summarised, as the pages read it."""

from __future__ import annotations

import time

import pytest

from recommender.tasks import run_analysis
from telemetry.rollups import run_rollups
from tests.recommender.fleet import push_fleet


def build_fleet(client, token: str) -> None:
    end = time.time() - 60
    push_fleet(client, token, days=2.0, step_s=300.0, end=end)
    run_rollups()
    run_analysis()  # ends with the fleet summary


@pytest.fixture
def fleet(client, agent_token):
    build_fleet(client, agent_token[1])


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def as_viewer(client, viewer):
    client.force_login(viewer)
    return client
