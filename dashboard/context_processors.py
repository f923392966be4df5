"""What every page's frame needs: whether the fleet holds simulated hosts (make demo, the simulator)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from dashboard import simulated


def simulated_hosts(request: HttpRequest) -> dict:
    """The count, read only when a page of a logged-in user draws its banner (one indexed-by-nothing query).

    A callable, not a lazy proxy: the template calls it and gets a plain int, which `|pluralize` can read
    (it reads a SimpleLazyObject as neither 1 nor more, and writes "").
    """
    return {"simulated_hosts": _once(simulated.count_hosts)}


def _once(compute: Callable[[], int]) -> Callable[[], int]:
    """`compute`, run at the first call only: a page that reads the count twice queries once."""
    memo: list[int] = []

    def value() -> int:
        if not memo:
            memo.append(compute())
        return memo[0]

    return value
