from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import AgentToken


class Command(BaseCommand):
    help = "Revoke an agent token by its prefix (the first 12 characters, as listed in the admin)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix: str, **options):
        tokens = list(AgentToken.objects.active().filter(prefix=prefix[:12]))
        if not tokens:
            raise CommandError(f"No active agent token starts with {prefix!r}.")
        for token in tokens:
            token.revoke()
            self.stdout.write(f"revoked {token}")
