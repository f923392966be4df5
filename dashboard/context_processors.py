"""What every page's frame needs: whether the fleet holds simulated hosts (make demo, the simulator)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

SIMULATED_LABEL = ("simulated", "true")  # set by collectors/simulate.py on every host it makes


def simulated_hosts(request: HttpRequest) -> dict:
    """The count, read only when a page of a logged-in user draws its banner (one indexed-by-nothing query)."""

    def count() -> int:
        from telemetry.models import Host

        key, value = SIMULATED_LABEL
        return Host.objects.filter(**{f"labels__{key}": value}).count()

    return {"simulated_hosts": SimpleLazyObject(count)}
