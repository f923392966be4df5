from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and tokens"

    def ready(self) -> None:
        from accounts import roles

        roles.connect()
