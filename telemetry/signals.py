"""Keep each host's stored id map honest when an admin deletes inventory, and the token cache when a token changes."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import AgentToken
from telemetry.auth import forget_tokens
from telemetry.models import Gpu, Host, InferenceServer


@receiver(post_save, sender=AgentToken)
@receiver(post_delete, sender=AgentToken)
def _forget_tokens(sender, **kwargs) -> None:
    forget_tokens()  # a revoke() here is seen at once; elsewhere within TOKEN_CACHE_S


@receiver(post_delete, sender=Gpu)
@receiver(post_delete, sender=InferenceServer)
def _forget_inventory(sender, instance, **kwargs) -> None:
    # The host's next push then upserts its inventory afresh instead of writing
    # samples against an id that no longer exists.
    Host.objects.filter(pk=instance.host_id).update(inventory_hash="")
