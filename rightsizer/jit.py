"""PostgreSQL's JIT compilation, off where it costs more than it saves.

PostgreSQL compiles a query to machine code once its estimated cost passes `jit_above_cost`. The
fleet's reads over thousands of hosts pass it and run far shorter than the compilation: sorting 4,000
hosts by open advice ran in 51 ms and compiled for 673 ms; one 200-host chunk of the analysis's GPU
sums at 10,000 hosts ran 2.0–2.4 s and compiled for 5.6–6.5 s of worker time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


def jit_off() -> None:
    """No JIT for the rest of the current transaction (SET LOCAL); nothing on other databases."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


@contextmanager
def without_jit() -> Iterator[None]:
    """The block's queries without JIT, in a transaction (or savepoint) of their own."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        jit_off()
        yield
