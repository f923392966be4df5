"""Template filters for units: bytes, money, percentages, and the inline utilization sparkline."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard import localtime
from recommender.models.recommendation import KIND_LABELS
from recommender.rules.common import kind_suffix
from recommender.thresholds import UNITS as THRESHOLD_UNITS
from telemetry import units

register = template.Library()


@register.filter
def gib(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value) / 1024**3:,.1f} GiB"


@register.filter
def usd(value) -> str:
    if value is None or value == "":
        return "—"
    value = float(value)
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


@register.filter
def pct(value, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}%"


@register.filter
def num(value, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):,.{int(digits)}f}"


def with_unit(text: str, unit: str) -> str:
    """'99.64' and '%' → '99.64%' (a percent sign sits on its number, as `pct` writes it); '24.9 requests'."""
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}"


@register.filter
def qty(value, unit: str = "") -> str:
    """A figure to two decimals with its unit, spaced as `with_unit` says; '—' for none."""
    if value is None or value == "":
        return "—"
    return with_unit(f"{float(value):,.2f}", unit or "")


@register.filter
def threshold_value(value, name: str) -> str:
    """A saved threshold as the settings form shows it: a share in % ('0.125' → '12.5%'), a percentage with its
    sign, any other as the number (its unit is in the form's table)."""
    unit = THRESHOLD_UNITS.get(name, "")
    if unit == "share":
        return f"{float(value) * 100:.6g}%"
    return f"{float(value):g}%" if unit == "%" else f"{float(value):g}"


@register.filter
def sparkline(values, title: str = "GPU utilization, last 24 h") -> SafeString:
    """24 hourly values (0–100, None for gaps) as a small SVG; gaps break the line."""
    points = list(values or [])
    if not any(v is not None for v in points):
        return SafeString('<span class="muted">no data</span>')
    width, height, step = 96, 24, 96 / max(len(points) - 1, 1)
    segments, current = [], []
    for i, v in enumerate(points):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        y = height - 1 - units.pct_to_fraction(max(0.0, min(100.0, float(v)))) * (height - 2)
        current.append(f"{i * step:.1f},{y:.1f}")
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(s)}"/>'
        if len(s) > 1
        else f'<circle cx="{s[0].split(",")[0]}" cy="{s[0].split(",")[1]}" r="1.5"/>'
        for s in segments
    )
    label = f"{title}: " + ", ".join("—" if v is None else f"{v:.0f}%" for v in points)
    return format_html(
        '<svg class="spark" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        width, height, width, height, label, SafeString(lines),
    )  # fmt: skip


@register.filter
def trunc(value) -> SafeString:
    """A name shown whole in its title and cut with an ellipsis by CSS (`.trunc`), so a 255-character label or
    hostname never widens the page; the text stays whole in the page for search and copy."""
    text = "" if value is None else str(value)
    return format_html('<span class="trunc" title="{}">{}</span>', text, text)


@register.filter
def server_kind(server) -> str:
    """' (TGI)' after a server's id, or nothing where the id names its kind already ('vllm:8000'), as advice
    words it (recommender.rules.common.server_label)."""
    return kind_suffix(server.server_id or "", server.kind or "other")


@register.filter
def kind_label(kind: str) -> str:
    """'host_rightsize' → 'Right-size host': the name a person reads for a recommendation kind."""
    return KIND_LABELS.get(kind, kind)


@register.filter
def local_times(text) -> str:
    """Schedule spans the recommender wrote in UTC, in the zone this page shows its times in (the footer's)."""
    if not text:
        return text
    zone = timezone.get_current_timezone()
    return localtime.in_zone(str(text), zone, getattr(zone, "key", str(zone)))
