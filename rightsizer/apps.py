from __future__ import annotations

from django.apps import AppConfig


class RightsizerConfig(AppConfig):
    """The project's own small state: when each periodic task last ran (rightsizer.taskruns)."""

    name = "rightsizer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rightsizer import checks  # noqa: F401  (registers the deploy checks)
