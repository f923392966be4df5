"""A single-row lookup in plain SQL, converted exactly as the ORM would convert it.

On the ingest hot path the ORM's query building costs several times more than
an indexed lookup; this keeps the lookup's SQL fixed and reuses Django's
per-field converters (datetimes on SQLite, JSON, …), so it stays portable.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection, models


@functools.cache
def _plan(model: type[models.Model], names: tuple[str, ...], key: str) -> tuple[str, list]:
    table = model._meta.db_table
    fields = [model._meta.get_field(n) for n in names]
    sql = f"SELECT {', '.join(f.column for f in fields)} FROM {table} WHERE {model._meta.get_field(key).column} = %s"
    converters = []
    for field in fields:
        col = field.get_col(table)
        converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return sql, converters


def fetch_row(model: type[models.Model], names: tuple[str, ...], key: str, value: Any) -> tuple | None:
    """The named fields of the row whose unique `key` equals `value`, or None."""
    sql, converters = _plan(model, names, key)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    out = []
    for value, (col, funcs) in zip(row, converters, strict=True):
        for func in funcs:
            value = func(value, col, connection)
        out.append(value)
    return tuple(out)
