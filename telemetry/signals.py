"""Keep each host's stored id map honest when an admin deletes inventory."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from telemetry.models import Gpu, Host, InferenceServer


@receiver(post_delete, sender=Gpu)
@receiver(post_delete, sender=InferenceServer)
def _forget_inventory(sender, instance, **kwargs) -> None:
    # The host's next push then upserts its inventory afresh instead of writing
    # samples against an id that no longer exists.
    Host.objects.filter(pk=instance.host_id).update(inventory_hash="")
