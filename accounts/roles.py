"""Roles: a viewer is any active account; an admin is a staff account, and every staff account is in
the "admins" group, which holds the admin-site permissions the README sends admins to use (catalogs,
prices, thresholds, tokens, alert channels and budgets, users). Superusers need no group.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.db.models.signals import post_migrate, post_save

ADMIN_GROUP = "admins"
# Every model of these apps, plus the people.
ADMIN_APPS = ("accounts", "recommender", "alerts")
ADMIN_MODELS = Q(content_type__app_label="auth", content_type__model__in=["user", "group"])


def admin_group() -> Group:
    """The admins' group with every permission it should hold (added as new models appear)."""
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    perms = Permission.objects.filter(Q(content_type__app_label__in=ADMIN_APPS) | ADMIN_MODELS)
    group.permissions.add(*perms)
    return group


def sync_role(user) -> None:
    """Staff accounts are in the admins' group, others are not."""
    if user.pk is None:
        return
    if user.is_staff and not user.is_superuser:
        user.groups.add(admin_group())
    else:
        user.groups.remove(*Group.objects.filter(name=ADMIN_GROUP))


def _on_user_saved(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):  # loading fixtures
        return
    sync_role(instance)


def _on_migrated(sender, **kwargs) -> None:
    if sender.name not in (*ADMIN_APPS, "auth"):  # each app's permissions exist after its own migrate
        return
    User = get_user_model()
    group = admin_group()  # new models' permissions join the group after an upgrade
    group.user_set.add(*User.objects.filter(is_staff=True, is_superuser=False))


def connect() -> None:
    post_save.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="accounts.roles.sync_role")
    post_migrate.connect(_on_migrated, dispatch_uid="accounts.roles.migrated")
