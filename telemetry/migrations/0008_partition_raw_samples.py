"""PostgreSQL: the raw sample tables become partitioned by day (telemetry.partitions).

The rows are copied into the new tables, so on a large existing installation this
migration takes as long as copying its raw history; SQLite is left as it is.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from telemetry.partitions import partition_tables

    with schema_editor.connection.cursor() as cursor:
        partition_tables(cursor, timezone.now(), settings.RETENTION_RAW_DAYS)


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0007_tokens_to_accounts")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
