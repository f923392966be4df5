"""The event catalogue: every kind of alert, named once. Channels subscribe by these names.

A name is part of the webhook payload's contract (`type`): names are added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    label: str
    description: str
    money: bool = False  # carries a monthly saving, so a channel's saving threshold applies


CATALOGUE: dict[str, EventType] = {
    e.name: e
    for e in [
        EventType("recommendation.new", "New recommendation",
                  "a recommendation opened (or reopened) with a monthly saving above the channel's threshold", True),
        EventType("plan_step.new", "New plan step",
                  "a step of a deployment's plan opened with a monthly saving above the channel's threshold", True),
        EventType("saving.grew", "Saving grew",
                  "an open recommendation's monthly saving grew by more than RIGHTSIZER_RECOMMENDER_MATERIAL_CHANGE",
                  True),
        EventType("saturation", "Users waiting",
                  "requests queue on an inference server (its raw samples of the last few minutes), sent at once"),
        EventType("host.offline", "Host offline", "a host sent no sample for RIGHTSIZER_HOST_OFFLINE_AFTER_S"),
        EventType("host.back", "Host back", "an offline host reports again"),
        EventType("host.flapping", "Host flapping",
                  "a host went offline and back more than once in RIGHTSIZER_ALERTS_FLAP_WINDOW_S: one summary"),
        EventType("budget.exceeded", "Budget forecast passed",
                  "a deployment's month-to-date spend plus its forecast for the rest of the month passed its budget"),
        EventType("digest.weekly", "Weekly digest", "Mondays 08:00 UTC: open savings, hosts offline, budgets"),
    ]
}  # fmt: skip
TEST = "test"  # "send test": only to the channel it was pressed for, never retried
DEFAULT_SUBSCRIPTIONS = [n for n in CATALOGUE if n != "digest.weekly"]


def label(name: str) -> str:
    return "Test" if name == TEST else CATALOGUE[name].label
