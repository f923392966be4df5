from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from rightsizer.env import env_str


class Command(BaseCommand):
    help = (
        "Create the first admin account if none exists. The password comes from "
        "RIGHTSIZER_ADMIN_PASSWORD, or is generated and printed once."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        admins = list(User.objects.filter(is_superuser=True).order_by("pk")[:3])
        if admins:
            names = ", ".join(u.get_username() for u in admins)
            self.stdout.write(
                f"Admin account(s) exist already: username {names}. A forgotten password is reset with: "
                f"manage.py changepassword {admins[0].get_username()}"
            )
            return
        username = env_str("RIGHTSIZER_ADMIN_USER", "admin")
        password = env_str("RIGHTSIZER_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        shown = password if generated else "(the value of RIGHTSIZER_ADMIN_PASSWORD)"
        self.stdout.write(f"Created admin account: username {username}  password {shown}")
        if generated:
            self.stdout.write(
                "This password is not stored to be shown again. Change it under /admin/ once logged in; "
                f"if it is lost: manage.py changepassword {username}"
            )
