"""A simulated fleet with two days of history, rolled up, analysed and summarised, as the pages read it.

Building it takes seconds, so a test module builds it once: inside a transaction of its own that
every test's transaction nests in (as a savepoint), rolled back when the module ends. A test's
changes to the fleet are undone after that test, as with any other data; a module's tests that
need an empty database run before its first test that asks for `fleet`.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.test import Client

from recommender.tasks import run_analysis
from telemetry.rollups import run_rollups
from tests.recommender.fleet import push_fleet


def build_fleet(client, token: str) -> None:
    end = time.time() - 60
    push_fleet(client, token, days=2.0, step_s=300.0, end=end)
    run_rollups()
    run_analysis()  # ends with the fleet summary


@pytest.fixture(scope="module")
def _module_fleet(django_db_setup, django_db_blocker):
    from telemetry.models import AgentToken

    with django_db_blocker.unblock(), transaction.atomic():
        build_fleet(Client(), AgentToken.issue("test fleet")[1])
        yield
        transaction.set_rollback(True)


@pytest.fixture
def fleet(_module_fleet, db):
    """The module's fleet, seen from inside this test's transaction."""


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def as_viewer(client, viewer):
    client.force_login(viewer)
    return client
