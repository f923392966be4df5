"""A simulated fleet with two days of history, rolled up, analysed and summarised, as the pages read it.

Building it takes seconds, so a test module builds it once: inside a transaction of its own that
every test's transaction nests in (as a savepoint), rolled back when the module ends. A test's
changes to the fleet are undone after that test, as with any other data; a module's tests that
need an empty database run before its first test that asks for `fleet`.

On PostgreSQL a build is also kept as the rows it added (`load_fleet`): a later module or browser
test that starts from the same database state copies them back in (COPY: about a tenth of a build's
time), as long as that build is under FLEET_FRESH_S old, so the hosts still read as online and the
analysis's "now" is as recent as a module's later tests see it today. The modules that use `fleet` run
one after another (pytest_collection_modifyitems below) so that one build serves them.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from recommender.tasks import run_analysis
from telemetry.rollups import run_rollups
from tests.recommender.fleet import push_fleet


def build_fleet(client, token: str) -> None:
    end = time.time() - 60
    push_fleet(client, token, days=2.0, step_s=300.0, end=end)
    run_rollups()
    run_analysis()  # ends with the fleet summary


FLEET_FRESH_S = 120.0  # a kept build older than this is built again

# A database state (digest of every table's rows) -> (when built, {table: (replace, rows)}): the rows a
# build added to each table, or for a table whose earlier rows it changed, all its rows after the build.
_built: dict[str, tuple[float, dict[str, tuple[bool, list[bytes]]]]] = {}


def _tables(cursor) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
    )
    return [name for (name,) in cursor.fetchall()]


def _dump(cursor) -> dict[str, list[bytes]]:
    """Every table's rows in COPY's text form, sorted: the database's state, comparable and loadable."""
    rows = {}
    for table in _tables(cursor):
        with cursor.cursor.copy(f'COPY (SELECT * FROM "{table}") TO STDOUT') as copy:
            data = b"".join(bytes(block) for block in copy)
        rows[table] = sorted(data.splitlines())
    return rows


# Made again, with new ids, after every flush (post_migrate: content types, permissions, accounts.roles'
# groups); a build neither reads nor writes them.
_NOT_STATE = ("django_content_type", "auth_permission", "auth_group", "auth_group_permissions")


def _digest(state: dict[str, list[bytes]]) -> str:
    h = hashlib.sha256()
    for table, rows in state.items():
        if table in _NOT_STATE:
            continue
        h.update(table.encode() + b"\0" + b"\n".join(rows) + b"\0")
    return h.hexdigest()


def _restore(cursor, added: dict[str, tuple[bool, list[bytes]]]) -> None:
    with transaction.atomic():  # foreign keys are checked at its end, with every table in
        for table, (replace, rows) in added.items():
            if replace:
                cursor.execute(f'DELETE FROM "{table}"')
            with cursor.cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                copy.write(b"\n".join(rows) + b"\n")
            # The copied ids came from the sequence once; keep it past them.
            for seq in connection.introspection.get_sequences(cursor, table):
                cursor.execute(
                    f'SELECT setval(%s, GREATEST((SELECT max("{seq["column"]}") FROM "{table}"), '
                    f'(SELECT last_value FROM "{seq["name"]}")))',
                    [seq["name"]],
                )


def load_fleet(client) -> None:
    """The fleet `build_fleet` makes, with an agent token of its own; copied from a recent build that
    started from this same database state where there is one (PostgreSQL)."""
    from telemetry.models import AgentToken

    if connection.vendor != "postgresql":
        build_fleet(client, AgentToken.issue("test fleet")[1])
        return
    with connection.cursor() as cursor:
        before = _dump(cursor)
        key = _digest(before)
        kept = _built.get(key)
        if kept and time.monotonic() - kept[0] < FLEET_FRESH_S:
            _restore(cursor, kept[1])
            return
        started = time.monotonic()
        build_fleet(client, AgentToken.issue("test fleet")[1])
        after = _dump(cursor)
    added = {}
    for table, rows in after.items():
        old = before.get(table, [])
        if rows == old:
            continue
        if set(old) <= set(rows):
            new = set(rows) - set(old)
            added[table] = (False, [r for r in rows if r in new])
        else:
            added[table] = (True, rows)
    if not set(added) & set(_NOT_STATE):
        _built[key] = (started, added)


def pytest_collection_modifyitems(config, items):
    """The database tests of this folder's modules that use `fleet` run one after another, at the first
    one's place, so one build (kept by load_fleet) serves them all; each module keeps its tests' order."""
    here = str(config.rootpath / "tests" / "dashboard")

    def fleet_module(item) -> bool:
        return item.path in users and item.get_closest_marker("django_db") is not None

    users = {item.path for item in items if str(item.path).startswith(here) and "fleet" in item.fixturenames}
    grouped = [item for item in items if fleet_module(item)]
    if not grouped:
        return
    first = items.index(grouped[0])
    rest = [item for item in items if not fleet_module(item)]
    items[:] = rest[:first] + grouped + rest[first:]


@pytest.fixture(scope="module")
def _module_fleet(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        load_fleet(Client())
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
