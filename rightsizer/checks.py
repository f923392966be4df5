"""Deployment checks (`manage.py check --deploy`): what `make run` may do and production must not."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def secret_key_check(app_configs=None, **kwargs) -> list[Warning]:
    """A key generated into var/ is fine on one machine; a deployment's replicas and restarts need their own."""
    if not getattr(settings, "SECRET_KEY_GENERATED", False):
        return []
    return [
        Warning(
            f"SECRET_KEY is not set: the key was generated into {settings.VAR_DIR / 'secret_key'}, "
            "which is right for `make run` and wrong for a deployment (each replica or fresh volume "
            "makes its own, logging everyone out).",
            hint="Set SECRET_KEY, or SECRET_KEY_FILE naming a file that holds it; a key: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(50))"',
            id="rightsizer.W001",
        )
    ]
