"""The range picker's server side: whether the range in the page's own URL can be shown."""

from __future__ import annotations

from django import template

from dashboard import timerange

register = template.Library()


@register.simple_tag(takes_context=True)
def range_problem(context) -> str:
    """Why the URL's range/from/to cannot be shown, or "": the page says so and starts from its default
    instead of asking the JSON endpoint for a range it would refuse."""
    request = context.get("request")
    return (timerange.problem(request.GET) or "") if request is not None else ""
