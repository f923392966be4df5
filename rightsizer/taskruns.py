"""The last success and failure of each task, kept in the database (rightsizer.models.TaskRun)."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.utils import timezone

log = logging.getLogger(__name__)


def record(task: str, ok: bool, seconds: float | None) -> None:
    """One upsert per task run; a database that is away costs the gauge, never the task."""
    from rightsizer.models import TaskRun

    field = "last_success_at" if ok else "last_failure_at"
    try:
        TaskRun.objects.update_or_create(task=task, defaults={field: timezone.now(), "last_duration_s": seconds})
    except DatabaseError as exc:
        log.warning("event=task_run_not_recorded task=%s error=%s", task, type(exc).__name__)
