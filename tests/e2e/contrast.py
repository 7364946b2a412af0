"""WCAG 2.x contrast of what a page shows, from the browser's computed colours.

`measure(page, selector)` reads, for every visible element the selector matches, its text
colour, its mark (the ::before dot of a status or presence chip, an SVG shape's fill, a
text-less swatch's background) and the backgrounds behind it up to the first opaque one; `failures` composites those
and names each pair under the threshold: text 4.5:1 (1.4.3), marks 3:1 (1.4.11).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page

TEXT = 4.5  # WCAG 1.4.3, normal-size text
MARK = 3.0  # WCAG 1.4.11, graphical objects

RGB = tuple[float, float, float]

_READ = """(selector) => {
  const layers = (el) => {
    const found = [];
    for (let at = el; at; at = at.parentElement) {
      const bg = getComputedStyle(at).backgroundColor;
      found.push(bg);
      if (/^rgb\\(/.test(bg)) break; // opaque: nothing behind it shows
    }
    return found;
  };
  const mark = (el) => {
    const dot = getComputedStyle(el, "::before");
    if (dot.content === "none" || dot.content === "normal") return null;
    // A filled dot, or a ring (an offline presence is hollow).
    return /^rgba\\(.*, 0\\)$/.test(dot.backgroundColor) ? dot.borderTopColor : dot.backgroundColor;
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden")
    .map((el) => {
      const what = `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} "${el.textContent.trim().slice(0, 40)}"`;
      const style = getComputedStyle(el);
      if (el instanceof SVGElement) return { what, text: null, mark: style.fill, layers: layers(el.closest("svg")) };
      // A swatch: a box of colour, no text, on its parent.
      if (!el.textContent.trim()) {
        return { what, text: null, mark: style.backgroundColor, layers: layers(el.parentElement) };
      }
      return { what, text: style.color, mark: mark(el), layers: layers(el) };
    });
}"""


def parse(css: str) -> tuple[float, float, float, float]:
    """rgb()/rgba() as computed styles give them: 0-255 channels and an alpha."""
    match = re.fullmatch(r"rgba?\(([^)]*)\)", css.strip())
    assert match, f"not an rgb() colour: {css}"
    parts = [float(p) for p in re.split(r"[\s,/]+", match.group(1).strip())]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 1.0)


def over(top: tuple[float, float, float, float], below: RGB) -> RGB:
    """`top` painted over the opaque colour `below` (source-over)."""
    r, g, b, a = top
    return (r * a + below[0] * (1 - a), g * a + below[1] * (1 - a), b * a + below[2] * (1 - a))


def luminance(rgb: RGB) -> float:
    """WCAG 2.x relative luminance of an sRGB colour with 0-255 channels."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: RGB, b: RGB) -> float:
    """WCAG 2.x contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def backdrop(layers: list[str]) -> RGB:
    """The colour behind an element: its backgrounds, from the innermost to the first
    opaque one, composited."""
    outermost = parse(layers[-1])
    assert outermost[3] == 1, f"no opaque background behind the element: {layers}"
    colour: RGB = outermost[:3]
    for layer in reversed(layers[:-1]):
        colour = over(parse(layer), colour)
    return colour


def measure(page: Page, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(_READ, selector)
    return found


def failures(measured: list[dict[str, Any]], where: str) -> list[str]:
    """Each text under 4.5:1 and each mark under 3:1 on its background, with the ratio."""
    bad = []
    for item in measured:
        behind = backdrop(item["layers"])
        for kind, need in (("text", TEXT), ("mark", MARK)):
            if item[kind] is None:
                continue
            colour = over(parse(item[kind]), behind)
            got = ratio(colour, behind)
            if got < need:
                bad.append(f"{where}: {item['what']} {kind} {item[kind]} on {behind}: {got:.2f}:1 < {need}:1")
    return bad
