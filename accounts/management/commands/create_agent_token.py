from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import AgentToken


class Command(BaseCommand):
    help = "Create an agent token and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the token is for, e.g. 'prod fleet'.")

    def handle(self, *args, name: str, **options):
        name = name.strip()
        if not name:
            raise CommandError("Give the token a name, e.g. create_agent_token 'prod fleet'.")
        if len(name) > 100:
            raise CommandError("The name is over 100 characters; use a shorter one.")
        _, raw = AgentToken.issue(name)
        self.stdout.write(raw)
        self.stderr.write(
            f"Agent token {name!r} created. It is shown only this once: put it in the agent's "
            "configuration (RIGHTSIZER_TOKEN). Revoke it with revoke_agent_token or in the admin."
        )
