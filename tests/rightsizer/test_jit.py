"""JIT off for a transaction's reads on PostgreSQL, and only for that transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from rightsizer.jit import jit_off, without_jit


def _jit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)  # autocommit, as the web and the worker run: atomic() is a transaction
@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT is PostgreSQL's")
def test_jit_is_off_inside_and_back_after():
    before = _jit()
    with without_jit():
        assert _jit() == "off"
    with transaction.atomic():
        jit_off()
        assert _jit() == "off"
    assert _jit() == before  # SET LOCAL: the transactions ended, the session's setting is back


@pytest.mark.django_db
def test_the_block_runs_on_any_database():
    ran = []
    with without_jit():
        ran.append(True)
    assert ran == [True]
