"""axe-core in the browser tests: `assert_accessible(page)` fails on every serious or
critical violation axe finds in the page as it is now (a dialog open, a banner shown).

axe is the copy vendored in tests/e2e/vendor/axe-core (README.md there says which),
never a CDN. The pages' Content-Security-Policy runs scripts from their own origin only,
and the tests keep that policy as it is: the browser itself answers a same-origin
address (AXE_PATH, which onduty never serves) with the vendored file, through a
Playwright route, and a <script src> of that address loads it like any page script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from playwright.sync_api import Page, Route

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_PATH = "/__tests__/axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")

# The rules whose outcome depends on colours: all a second colour scheme can change,
# as onduty.css's schemes differ only in the values of its colour properties.
COLOUR_RULES = ("color-contrast", "link-in-text-block")

_RUN = """async ([context, rules]) => {
  const options = { resultTypes: ["violations"] };
  if (rules) options.runOnly = { type: "rule", values: rules };
  const result = await axe.run(context ? document.querySelector(context) : document, options);
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def _answer_with_axe(route: Route) -> None:
    route.fulfill(path=AXE_JS, content_type="text/javascript")


def _inject(page: Page) -> None:
    if page.evaluate("() => typeof window.axe === 'object'"):
        return  # already in this document (a navigation starts a new one without it)
    page.unroute(f"**{AXE_PATH}")  # one answer however many documents the page loads
    page.route(f"**{AXE_PATH}", _answer_with_axe)
    page.add_script_tag(url=AXE_PATH)


def violations(
    page: Page,
    context: str | None = None,
    impacts: tuple[str, ...] = FAILING_IMPACTS,
    rules: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """axe's violations of those impacts in the page (or in the element `context`
    selects), by every rule or only `rules`: id, impact, help and the nodes, each a CSS
    target and axe's summary."""
    _inject(page)
    found: list[dict[str, Any]] = page.evaluate(_RUN, [context, list(rules) if rules else None])
    return [v for v in found if v["impact"] in impacts]


def assert_accessible(
    page: Page, context: str | None = None, *, what: str = "", rules: tuple[str, ...] | None = None
) -> None:
    """Fails listing every serious or critical axe violation; `what` names the step
    (the page, the dialog, the colour scheme) in the failure."""
    found = violations(page, context, rules=rules)
    if not found:
        return
    lines = [f"axe: {len(found)} serious/critical violation(s) in {what or page.url}:"]
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}: {summary}")
    raise AssertionError("\n".join(lines))


def check_schemes(page: Page, what: str, failures: list[str], context: str | None = None) -> None:
    """`assert_accessible` in the light and the dark scheme (prefers-color-scheme,
    emulated in place: no reload; in the dark one, the colour rules only), each failure
    added to `failures`, so that one run lists every step's; the page is left light."""
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        try:
            assert_accessible(
                page, context, what=f"{what} ({scheme})", rules=None if scheme == "light" else COLOUR_RULES
            )
        except AssertionError as failure:
            failures.append(str(failure))
    page.emulate_media(color_scheme="light")
