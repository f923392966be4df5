from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME (read access to /api/v1 as that user). Shown once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="api", help="what uses the token (default: api)")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}: create one first (manage.py createsuperuser, or the admin).")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive: activate it in the admin first.")
        _, raw = ApiToken.issue(user, name)
        self.stderr.write(f"Personal API token {name!r} for {username} (copy it now, it is not shown again):")
        self.stdout.write(raw)
