"""Every page works under its Content-Security-Policy (docs/security.md, "Headers"): the
pages are loaded and used a little, and the browser reports no violation of the policy
(no inline script or style, no on*= handler, nothing from another host) while the live
stream connects over its WebSocket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect

from tests.e2e.conftest import Person, Site, live, sign_in

# Runs before any page script: each violation the browser reports is kept on the window.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""
TIMEOUT_MS = 10_000


def strict(response: Response | None) -> None:
    """The page came with its policy, one that allows nothing inline."""
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self';" in policy and "style-src 'self';" in policy, policy
    assert "unsafe" not in policy, policy


@contextmanager
def watched(page: Page) -> Iterator[None]:
    """Fails unless the page reported no policy violation, in events or on the console,
    and threw no script error, by the end of the block."""
    console: list[str] = []
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    page.wait_for_timeout(300)  # a violation is reported asynchronously
    violations = page.evaluate("window.__cspViolations || []")
    assert (violations, console, errors) == ([], [], []), page.url


def signed_in(browser: Browser, site: Site, who: Person) -> Page:
    page = sign_in(browser, site, who)
    page.context.add_init_script(RECORD_VIOLATIONS)
    strict(page.reload())  # the recorder is in place from the first script on
    return page


def test_every_page_works_under_its_policy_with_no_violation(browser: Browser, site: Site) -> None:
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Brown")
    site.ready(bob)
    thread = site.client_writes("alice", "Hello, my parcel has not arrived yet.")
    site.api(bob, "POST", f"/threads/{thread['id']}/messages", {"text": "Let me check."})
    site.api(bob, "POST", f"/threads/{thread['id']}/close")
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})

    # The sign-in page, before anyone signs in: a refusal shows, then the agent signs in.
    context = browser.new_context(base_url=site.base)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    with watched(page):
        strict(page.goto("/login"))
        page.get_by_label("Username").fill(ann.username)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert").first).to_contain_text("Enter your username and password")
    context.close()

    # The agent's workspace: live, a thread arrives and is answered, the transfer picker opens.
    page = signed_in(browser, site, ann)
    with watched(page):
        expect(page).to_have_url(f"{site.base}/agent")
        live(page)
        page.get_by_label("Change my status").select_option(label="Active")
        page.get_by_role("button", name="Set status").click()
        site.client_writes("carla", "Where is my order?")
        card = page.locator(".thread", has_text="carla")
        card.get_by_label("Answer carla").fill("Looking into it.")
        card.get_by_role("button", name="Send").click()
        expect(card.locator(".message.agent")).to_contain_text("Looking into it.")
        card.get_by_role("button", name="Transfer…").click()
        expect(page.get_by_role("dialog", name="Transfer thread")).to_contain_text("Bob Brown")
        page.keyboard.press("Escape")

    # The supervisor's widget: live rows with their coloured initials, an agent's card.
    page = signed_in(browser, site, supervisor)
    with watched(page):
        live(page)
        row = page.locator(f'#agents tbody tr[data-agent-id="{bob.id}"]')
        expect(row).to_contain_text("Bob Brown")
        hue = row.locator(".avatar").evaluate("el => getComputedStyle(el).backgroundColor")
        row.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        expect(dialog.locator("#card-name")).to_have_text("Bob Brown")
        # The card's initials wear the row's colour: set without a style attribute.
        card_hue = dialog.locator("#card-avatar").evaluate("el => getComputedStyle(el).backgroundColor")
        assert card_hue == hue != "rgb(223, 231, 241)", (card_hue, hue)  # not the plain .avatar colour
        page.keyboard.press("Escape")

        # The reports: charts and their legend's swatches drawn, in their colours.
        strict(page.goto("/reports"))
        expect(page.locator("#time-chart svg rect").first).to_be_visible()
        swatch = page.locator("#legend .swatch").first
        expect(swatch).to_be_visible()
        colour = swatch.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
        expect(page.locator("#period button[type=submit]")).to_be_visible()

        # The wallboard: live, its tiles drawn with their marks.
        strict(page.goto("/wallboard"))
        live(page)
        expect(page.locator('#tiles [data-key="all"] .tile-count')).to_have_text(re.compile(r"^[1-9]\d*$"))
        expect(page.locator('[data-figure="routing"]')).not_to_have_text("–")

    # Administration: live, and a change saved.
    page = signed_in(browser, site, site.admin)
    with watched(page):
        expect(page).to_have_url(f"{site.base}/admin")
        live(page)
        short = page.locator('#reasons tr[data-code="short_break"]')
        short.get_by_label("Label of short_break").fill("Coffee break")
        short.get_by_label("Label of short_break").press("Enter")
        expect(page.locator("#toast")).to_contain_text("Saved “Coffee break”")
