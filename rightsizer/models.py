"""When each Celery task last ended, for the beat-lag gauges and /readyz's neighbours.

One row per task name, written by the worker that ran it: whichever machine that was,
the scrape of any web instance reads the same answer.
"""

from __future__ import annotations

from django.db import models


class TaskRun(models.Model):
    task = models.CharField(max_length=200, primary_key=True, help_text="e.g. telemetry.tasks.roll_up")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_duration_s = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.task} (last success {self.last_success_at})"
