"""WCAG AA contrast of app.css in both themes, read from the stylesheet itself: each button, pill, link and
muted text's colour on the background it is drawn on, by the WCAG 2 relative-luminance formula.

The colours are resolved from the rules as written (`button { color: …; background: … }`) through the
custom properties of the light `:root` and of the `prefers-color-scheme: dark` one, so a rule that goes
back to white text on the dark theme's light blue fails here, not in a user's eyes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

CSS = Path(settings.BASE_DIR) / "dashboard" / "static" / "dashboard" / "app.css"
AA_NORMAL_TEXT = 4.5

# (selector as written in app.css, what draws the text) — the selector must appear in some rule's selector
# list; where the rule sets no background (or a transparent one), the text sits on the page and on a card.
STYLES = [
    "button",  # primary: the accent fill
    "button.secondary",
    "button.danger",
    ".ranges button",
    "a",
    "header.top a",
    "header.top a.active",
    "th a.sorted",
    ".muted",
    "footer",
    ".pill.online",
    ".pill.offline",
    ".pill.open",
    ".pill.acknowledged",
    ".pill.dismissed",
    ".pill.simulated",
    ".errorlist",
    "form.filters label",
]
SURFACES = ["var(--bg)", "var(--card)"]  # the page, and the cards, tables and header drawn on it


def blocks(css: str) -> list[tuple[str, str, str]]:
    """(enclosing at-rule or "", selector list, declarations) of each rule, one level of @media deep."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for m in re.finditer(r"([^{}]+)\{((?:[^{}]|\{[^{}]*\})*)\}", css):
        head, body = m.group(1).strip(), m.group(2)
        if head.startswith("@"):
            out += [(head, h.strip(), b) for h, b in re.findall(r"([^{}]+)\{([^{}]*)\}", body)]
        else:
            out.append(("", head, body))
    return out


def declarations(body: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in (d.split(":", 1) for d in body.split(";") if ":" in d)}


def themes(rules) -> dict[str, dict[str, str]]:
    light = {k: v for at, sel, body in rules if not at and sel == ":root" for k, v in declarations(body).items()}
    dark = dict(light)
    for at, sel, body in rules:
        if "prefers-color-scheme: dark" in at and sel == ":root":
            dark.update(declarations(body))
    return {"light": light, "dark": dark}


def style(rules, selector: str) -> dict[str, str]:
    """The declarations every top-level rule naming `selector` sets, later rules winning (as the cascade
    does for equal specificity: app.css lists the specific rules after the general ones)."""
    out: dict[str, str] = {}
    for at, sel, body in rules:
        if not at and selector in [s.strip() for s in sel.split(",")]:
            out.update(declarations(body))
    assert out, f"no rule for {selector!r} in app.css"
    return out


def resolve(value: str, theme: dict[str, str]) -> str:
    for _ in range(5):
        m = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
        if not m:
            break
        value = theme[m.group(1)]
    return value.strip()


def luminance(color: str) -> float:
    hexa = color.lstrip("#")
    assert re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", hexa), f"not an opaque hex colour: {color!r}"
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    channels = [int(hexa[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def pairs(rules, selector: str) -> list[tuple[str, str]]:
    """(foreground, background) expressions for `selector`: its own, else what it inherits from the body."""
    own = style(rules, selector)
    tag = re.match(r"[a-z]+", selector.split()[-1])
    if tag and tag.group(0) != selector.split()[-1]:  # button.danger: what <button> sets, then its own
        own = {**style(rules, tag.group(0)), **own}
    body = style(rules, "body")
    fg = own.get("color", body["color"])
    bg = own.get("background-color", own.get("background", "transparent")).split()[0]
    return [(fg, s) for s in SURFACES] if bg in ("transparent", "inherit", "none") else [(fg, bg)]


def test_the_formula_matches_wcag_reference_values():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast("#ffffff", "#7ab4ff") < 3  # the dark theme's old buttons: white on light blue


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_button_pill_link_and_muted_text_passes_aa_in_both_themes(theme):
    rules = blocks(CSS.read_text())
    colours = themes(rules)[theme]
    failing = []
    for selector in STYLES:
        for fg, bg in pairs(rules, selector):
            ratio = contrast(resolve(fg, colours), resolve(bg, colours))
            if ratio < AA_NORMAL_TEXT:
                failing.append(f"{selector}: {fg} on {bg} is {ratio:.2f}:1")
    assert not failing, f"{theme} theme below WCAG AA {AA_NORMAL_TEXT}:1: {failing}"


def test_white_on_light_blue_would_fail():
    """The check reads the rules: put the old white button text back and the dark theme fails."""
    rules = blocks(CSS.read_text().replace("color: var(--on-accent)", "color: #fff"))
    dark = themes(rules)["dark"]
    (fg, bg), *_ = pairs(rules, "button")
    assert contrast(resolve(fg, dark), resolve(bg, dark)) < AA_NORMAL_TEXT
