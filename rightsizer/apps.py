from __future__ import annotations

from django.apps import AppConfig


class RightsizerConfig(AppConfig):
    """The project's own small state: when each periodic task last ran (rightsizer.taskruns)."""

    name = "rightsizer"
    default_auto_field = "django.db.models.BigAutoField"
