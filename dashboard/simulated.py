"""Which hosts and deployments are simulated: the label collectors/simulate.py sets on every host it makes.

One owner for the test, read by the banner's count, the tag beside a host, and the tag beside a deployment
or a recommendation about one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q

SIMULATED_LABEL = ("simulated", "true")  # set by collectors/simulate.py on every host it makes


def _label_filter() -> Q:
    key, value = SIMULATED_LABEL
    return Q(**{f"labels__{key}": value})


def count_hosts() -> int:
    from telemetry.models import Host

    return Host.objects.filter(_label_filter()).count()


def is_host(host: Any) -> bool:
    """True for a host carrying the label (as the fleet, host and deployment pages tag it)."""
    key, value = SIMULATED_LABEL
    labels = getattr(host, "labels", None) or {}
    return str(labels.get(key, "")) == value


def deployments(names: Iterable[str] | None = None) -> set[str]:
    """The deployments whose every host is simulated (of `names`, or of all): a real host among them is not."""
    from telemetry.models import Host

    qs = Host.objects.all() if names is None else Host.objects.filter(deployment__in=list(names))
    counts = qs.values("deployment").annotate(n=Count("pk"), sim=Count("pk", filter=_label_filter()))
    return set(counts.filter(n=F("sim")).values_list("deployment", flat=True))


def mark_recs(recs: Iterable[Any]) -> list[Any]:
    """The recommendations as a list, each with `.simulated`: about a simulated host, or else (a deployment's
    own advice) about a deployment made only of simulated hosts."""
    recs = list(recs)
    whole = deployments({r.deployment for r in recs if r.host is None and r.deployment})
    for r in recs:
        r.simulated = is_host(r.host) if r.host is not None else r.deployment in whole
    return recs
