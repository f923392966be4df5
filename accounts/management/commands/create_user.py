from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from rightsizer.env import env_str


class Command(BaseCommand):
    help = (
        "Create a dashboard account. Viewers read every page; admins also change settings, manage tokens "
        "and act on recommendations. The password comes from RIGHTSIZER_USER_PASSWORD, or is generated "
        "and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=["viewer", "admin"], default="viewer")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, role: str, email: str, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"an account named {username!r} exists already: pick another name, or change it "
                               "in /admin/")  # fmt: skip
        password = env_str("RIGHTSIZER_USER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_user(username, email, password, is_staff=role == "admin")
        shown = password if generated else "(the value of RIGHTSIZER_USER_PASSWORD)"
        self.stdout.write(f"Created {role} account: username {username}  password {shown}")
        self.stdout.write(f"A lost password is reset with: manage.py changepassword {username}")
