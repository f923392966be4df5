"""For the benchmarks that seed PostgreSQL: a new, migrated database, and Django set up on it."""

from __future__ import annotations

import os


def setup_fresh_database(server: str, database: str) -> None:
    """Drop and create `database` on `server` (a URL without database), point Django at it and migrate."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    use_database(server, database)


def use_database(server: str, database: str) -> None:
    """Point Django at `database` on `server` and migrate it (a no-op on one already migrated)."""
    os.environ["DATABASE_URL"] = f"{server}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rightsizer.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
