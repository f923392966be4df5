from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import AgentToken, hash_token

NAME = "local agent (make run)"


class Command(BaseCommand):
    help = (
        "Keep an agent token for the agent that `make run` starts on this machine, in "
        "var/local-agent-token (mode 600); made once, made again if it was revoked. Prints its path."
    )

    def handle(self, *args, **options):
        path = settings.VAR_DIR / "local-agent-token"
        if path.exists():
            raw = path.read_text().strip()
            if AgentToken.objects.active().filter(token_hash=hash_token(raw)).exists():
                self.stdout.write(str(path))
                return
        _, raw = AgentToken.issue(NAME)
        path.write_text(raw + "\n")
        path.chmod(0o600)
        self.stdout.write(str(path))
