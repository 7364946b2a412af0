"""Accessibility of every page and dialog, in the light and the dark colour scheme:
axe-core finds no serious or critical violation (tests/e2e/axe.py), and every status
colour meets WCAG AA contrast (W1: a status is its colour and its text, both readable).

One server and one scene for the module; each step checks the page as it stands in
both schemes (`check_schemes`, which switches the emulated `prefers-color-scheme` in
place). To check a new page or dialog: bring it up in the walk of
`test_every_page_and_dialog_passes_axe_light_and_dark`, wait for its content with
`expect(...)`, then `check_schemes(page, "what it is", failures)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e import contrast
from tests.e2e.axe import SCHEMES, check_schemes
from tests.e2e.conftest import Person, Site, live, screenshot

# On one worker: the module's one scene, which another worker would build again.
pytestmark = pytest.mark.xdist_group("a11y")


@dataclass(frozen=True, slots=True)
class Scene:
    site: Site
    supervisor: Person
    ann: Person  # active, holds two threads (one unanswered: prompted), asks for Coaching
    bob: Person  # active, free
    dan: Person  # at lunch
    finn: Person  # offline: never logged in
    hana: Person  # active, own clients only
    nia: Person  # not ready


@pytest.fixture(scope="module")
def scene(browser: Browser, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Scene]:
    """Agents in most statuses, threads with a pinned message, a pending approval with
    unanswered threads (the W6 confirm), and a "continue working?" prompt (S6) that
    stays up for the whole module."""
    site = Site(tmp_path_factory.mktemp("a11y"), sqlite_template)
    site.start()
    admin = site.admin
    site.api(admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching", "requires_approval": True})
    made = Scene(
        site=site,
        supervisor=site.person("supervisor", "Sam Super"),
        ann=site.person("agent", "Ann Agent"),
        bob=site.person("agent", "Bob Brown"),
        dan=site.person("agent", "Dan Dale"),
        finn=site.person("agent", "Finn Ford"),
        hana=site.person("agent", "Hana Hill"),
        nia=site.person("agent", "Nia North"),
    )
    site.ready(made.ann)  # alone ready: both threads go to Ann
    first = site.client_writes("alice", "Hello, my parcel has not arrived yet.")
    site.client_writes("bruno", "Can I change the delivery address?")
    answered = site.api(made.ann, "POST", f"/threads/{first['id']}/messages", {"text": "Let me check that."})
    site.api(made.ann, "POST", f"/threads/{first['id']}/messages/{answered['messages'][0]['id']}/pin")
    site.api(made.ann, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    site.ready(made.bob)
    site.api(made.dan, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    site.api(made.hana, "POST", "/me/login")
    site.api(made.hana, "PUT", "/me/status", {"state": "active_own_clients"})
    site.api(made.nia, "POST", "/me/login")
    site.api(admin, "PATCH", "/settings", {"response_timeout": 1, "prompt_timeout": 3600})
    # S10: Dan's lunch has run past its limit (the overdue marks); Ann holds more than
    # her capacity (the over-capacity mark).
    site.api(admin, "PATCH", "/reasons/lunch", {"max_minutes": 1})
    site.api(admin, "PATCH", f"/agents/{made.ann.id}", {"capacity": 1})
    site.backdate_status(made.dan, 120)
    yield made
    site.stop()


PHONE = ViewportSize(width=390, height=844)  # a phone held upright
DESKTOP = ViewportSize(width=1280, height=860)


def _page(browser: Browser, site: Site) -> Page:
    context = browser.new_context(viewport=DESKTOP, base_url=site.base)
    context.set_default_timeout(10_000)
    return context.new_page()


def _sign_in(page: Page, person: Person) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


# Banners a page shows only in states this scene does not reach (routing halted, every
# agent full, the stream reconnecting; kicked out, logged out), shown all at once as the
# page's script would show them, so that their colours are checked too.
_REVEAL = """(texts) => {
  for (const [selector, text] of Object.entries(texts)) {
    const el = document.querySelector(selector);
    if (text !== null) el.textContent = text;
    el.hidden = false;
  }
}"""


def _check_alerts_menu(page: Page, where: str, failures: list[str]) -> None:
    """W7: the top bar's Alerts menu, opened, checked, closed again."""
    page.locator("#alerts").click()
    menu = page.get_by_role("group", name="Alerts")
    expect(menu.get_by_label("Sound")).to_be_visible()
    check_schemes(page, f"Alerts menu, {where}", failures)
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()


def test_every_page_and_dialog_passes_axe_light_and_dark(browser: Browser, scene: Scene) -> None:
    """Sign-in (and its error), the supervisor's widget (W1) with its strip, controls and
    marks (W5, S10, S6) and its banners (W5), the wallboard (W5), the agent card with a
    request pending (W3, S4), the W6 confirm, the read-only thread view, the supervisor's
    transfer picker and close confirm (W6), reports (P2), the queue's Assign picker (W6,
    R3), the Alerts menu (W7) and the chat (C1) on the supervisor page, the agent's
    workspace with the S6 prompt, the Alerts menu (W7) and the transfer dialog (W4), both
    pages at a phone's width (390x844), administration with a retire confirm and a toast,
    its forms' invalid fields and a new API token, and an admin's widget grouped by team
    (W1): no serious or critical axe finding, light or dark."""
    site = scene.site
    failures: list[str] = []
    # Sign-in, and its error.
    page = _page(browser, site)
    page.goto("/login")
    check_schemes(page, "sign-in", failures)
    page.get_by_label("Username").fill(scene.supervisor.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_be_visible()
    check_schemes(page, "sign-in, refused", failures)

    # The supervisor's widget, the agent card with a pending request, the W6 confirm.
    _sign_in(page, scene.supervisor)
    live(page)
    ann_row = page.locator(f'#agents tbody tr[data-agent-id="{scene.ann.id}"]')
    expect(ann_row.locator(".bell")).to_be_visible()
    expect(page.locator("#agents tbody tr")).to_have_count(6)
    expect(page.locator(f'#agents tbody tr[data-agent-id="{scene.dan.id}"] .sv-overdue')).to_be_visible()
    expect(ann_row.locator(".sv-countdown")).to_contain_text("left")
    check_schemes(page, "supervisor widget", failures)
    # The strip with a tile pressed (the filter), the widget sorted, searched, pending first.
    page.locator('#tiles [data-key="state:inactive"]').click()
    page.locator('#agents th[data-sort="threads"] button').click()
    page.get_by_label("Search").fill("a")
    page.get_by_label("Pending requests first").check()
    expect(page.locator('#tiles [aria-pressed="true"]')).to_have_attribute("data-key", "state:inactive")
    check_schemes(page, "supervisor strip and widget, filtered, sorted, searched", failures)
    page.get_by_label("Search").fill("")
    page.locator('#tiles [data-key="all"]').click()
    page.emulate_media(color_scheme="dark")
    screenshot(page, "supervisor-dark")
    page.evaluate(
        _REVEAL,
        {
            "#r6-banner": "Nobody is active: routing is halted. 2 threads are waiting in the queue.",
            "#capacity-banner": "Every active agent is at capacity: 1 thread is waiting in the queue for room.",
            "#connection": "Reconnecting…",
        },
    )
    check_schemes(page, "supervisor widget, its banners", failures)
    page.reload()  # the banners as the page has them
    live(page)
    ann_row.click()
    card = page.get_by_role("dialog")
    expect(card.locator("#card-request")).to_contain_text("asks for Coaching")
    expect(card.locator("#card-threads li.thread")).to_have_count(2)
    check_schemes(page, "agent card with a pending request", failures)
    card.get_by_role("button", name="Approve").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_be_visible()
    check_schemes(page, "approve-with-unanswered-threads confirm", failures)
    confirm.get_by_role("button", name="Cancel").click()
    # W6: a thread read only, the transfer picker and the close confirm, from the card.
    threads = card.locator("#card-threads li.thread")
    threads.filter(has_text="alice").get_by_role("button", name="View").click()
    view = page.locator("#thread-view")
    expect(view.locator("#thread-view-messages li")).to_have_count(2)
    check_schemes(page, "read-only thread view", failures)
    page.keyboard.press("Escape")
    expect(view).to_be_hidden()
    threads.filter(has_text="bruno").get_by_role("button", name="Transfer…").click()
    picker = page.get_by_role("dialog", name="Transfer thread")
    expect(picker.locator(".colleague", has_text="Bob Brown")).to_be_visible()
    check_schemes(page, "supervisor's transfer dialog", failures)
    picker.get_by_role("button", name="Cancel", exact=True).click()
    threads.filter(has_text="bruno").get_by_role("button", name="Close…").click()
    close = page.get_by_role("alertdialog", name="Close this thread?")
    expect(close).to_contain_text("held by Ann Agent")
    check_schemes(page, "close-thread confirm", failures)
    close.get_by_role("button", name="Cancel").click()
    card.get_by_role("button", name="Close the card").click()
    expect(card).to_be_hidden()

    # The wallboard: tiles, figures, who needs attention.
    page.goto("/wallboard")
    live(page)
    expect(page.locator("#attention li")).to_have_count(2)  # Ann asks and is prompted; Dan overdue
    expect(page.locator('[data-figure="received"]')).to_have_text("2")
    check_schemes(page, "wallboard", failures)

    # Reports.
    page.goto("/reports")
    expect(page.locator("#time-chart svg rect").first).to_be_visible()
    expect(page.locator("#status-log tbody tr").first).to_be_visible()
    check_schemes(page, "reports", failures)

    # The supervisor page again, a thread waiting: Bob, the one active agent with room,
    # is not ready (Ann is over her capacity, Hana takes her own clients only).
    site.api(scene.bob, "PUT", "/me/status", {"state": "not_ready"})
    waiting = site.client_writes("carol", "Is the shop open on Sunday?")
    page.goto("/supervisor")
    live(page)
    # W6, R3: the Assign picker, from the queue.
    page.locator("#queue-items li", has_text="carol").get_by_role("button", name="Assign to…").click()
    assign = page.get_by_role("dialog", name="Assign thread")
    expect(assign.locator(".colleague", has_text="Bob Brown")).to_be_visible()
    check_schemes(page, "supervisor's assign dialog, from the queue", failures)
    assign.get_by_role("button", name="Cancel", exact=True).click()
    expect(assign).to_be_hidden()
    _check_alerts_menu(page, "supervisor page", failures)
    # C1: the chat on the supervisor page: someone found, then the conversation with them.
    page.locator("#chat-toggle").click()
    page.locator("#chat-find").fill("ann")
    ann_found = page.locator("#chat-people .chat-person", has_text="Ann Agent")
    expect(ann_found).to_be_visible()
    check_schemes(page, "supervisor page's chat, the people found", failures)
    ann_found.click()
    expect(page.locator("#chat-with")).to_have_text("Ann Agent")
    expect(page.locator("#chat-members .chat-member")).to_have_count(1)
    check_schemes(page, "supervisor page's chat, a conversation", failures)
    page.locator("#chat-close").click()
    expect(page.locator("#chat")).to_be_hidden()
    # A phone's width: the strip, the widget and the queue, one above the other.
    page.set_viewport_size(PHONE)
    expect(page.locator("#agents tbody tr")).to_have_count(6)
    check_schemes(page, "supervisor page, phone width", failures)
    site.api(scene.supervisor, "POST", f"/threads/{waiting['id']}/close")
    site.api(scene.bob, "PUT", "/me/status", {"state": "active"})
    page.context.close()

    # The agent's workspace: threads, the pending request, the S6 prompt, transfer.
    page = _page(browser, site)
    _sign_in(page, scene.ann)
    live(page)
    expect(page.locator(".thread")).to_have_count(2)
    expect(page.get_by_role("alertdialog", name="Continue working?")).to_be_visible()
    expect(page.locator("#pending")).to_be_visible()
    check_schemes(page, "agent workspace", failures)
    _check_alerts_menu(page, "agent page", failures)
    page.evaluate(_REVEAL, {"#kicked": None, "#logged-out": None})
    check_schemes(page, "agent workspace, its banners", failures)
    page.locator(".thread", has_text="alice").get_by_role("button", name="Transfer…").click()
    dialog = page.get_by_role("dialog", name="Transfer thread")
    expect(dialog.locator(".colleague", has_text="Bob Brown")).to_be_visible()
    check_schemes(page, "transfer dialog", failures)
    # C1: the chat, opened by "ask first": a conversation about the thread, then the list.
    dialog.locator(".colleague", has_text="Bob Brown").get_by_role("button", name="Ask first: Bob Brown").click()
    expect(dialog).to_be_hidden()
    page.locator("#chat-text").fill("do you know this client?")
    page.locator("#chat-text").press("Enter")
    expect(page.locator("#chat-messages .chat-pointer")).to_be_visible()
    check_schemes(page, "chat, a conversation about a thread", failures)
    page.locator("#chat-back").click()
    page.locator("#chat-find").fill("b")
    expect(page.locator("#chat-people li").first).to_be_visible()
    check_schemes(page, "chat, its conversations and the people found", failures)
    page.locator("#chat-close").click()
    expect(page.locator("#chat")).to_be_hidden()
    page.set_viewport_size(PHONE)
    expect(page.locator(".thread")).to_have_count(2)
    check_schemes(page, "agent workspace, phone width", failures)
    _check_alerts_menu(page, "agent page, phone width", failures)  # a panel the width of the screen
    page.context.close()

    # Administration, with a retire confirm and a toast up.
    page = _page(browser, site)
    _sign_in(page, site.admin)
    lunch = page.locator('#reasons tr[data-code="lunch"]')
    expect(lunch.get_by_label("Label of lunch")).to_have_value("Lunch break")
    check_schemes(page, "administration", failures)
    lunch.get_by_role("button", name="Save lunch").click()
    expect(page.locator("#toast")).to_be_visible()
    lunch.get_by_role("button", name="Retire lunch").click()
    expect(lunch.get_by_role("button", name="Keep")).to_be_visible()
    check_schemes(page, "administration, a retire confirm and a toast", failures)
    lunch.get_by_role("button", name="Keep").click()
    # Every form refused, each invalid field saying why beside it (form_errors.js).
    add_reason = page.locator("#reason-add")
    add_reason.get_by_label("Code").fill("Coaching!")
    page.locator("#reason-max_minutes").fill("-5")
    add_reason.get_by_role("button", name="Add reason").click()
    expect(add_reason.locator('[data-error-for="label"]')).to_have_text("Label is required")
    expect(add_reason.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    expect(add_reason.locator('[data-error-for="max_minutes"]')).to_be_visible()
    settings = page.locator("#settings")
    settings.get_by_label("Response timeout", exact=True).fill("0")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#setting-response_timeout-error")).to_be_visible()
    add_user = page.locator("#user-add")
    add_user.get_by_label("Password").fill("short")
    add_user.get_by_label("Capacity").fill("0")
    add_user.get_by_role("button", name="Create user").click()
    expect(add_user.locator('[data-error-for="username"]')).to_have_text("Username is required")
    expect(add_user.locator('[data-error-for="password"]')).to_be_visible()
    expect(add_user.locator('[data-error-for="capacity"]')).to_be_visible()
    check_schemes(page, "administration, its forms' invalid fields", failures)
    # An integration's API token, shown once.
    add_user.get_by_label("Username").fill("crm")
    add_user.get_by_label("Full name").fill("CRM sync")
    add_user.get_by_label("Role").select_option("integration")
    add_user.get_by_label("Password").fill("")
    add_user.get_by_role("button", name="Create user").click()
    expect(page.locator("#new-token")).to_contain_text("Created crm (Integration)")
    expect(page.locator("#new-token-value")).not_to_be_empty()
    check_schemes(page, "administration, a new API token", failures)
    # W1: an admin's widget, every team, grouped by team (a second team joins for it).
    site.person("agent", "Tia Teller", team="billing")
    page.goto("/supervisor")
    live(page)
    page.get_by_label("Group by team").check()
    expect(page.locator("#agents tbody tr.sv-group")).to_have_count(2)
    expect(page.locator("#agents tbody tr[data-agent-id]")).to_have_count(7)
    check_schemes(page, "admin's widget, grouped by team", failures)
    page.context.close()
    assert not failures, "\n\n".join(failures)


# Every status and presence chip there is (status.js names them), in a table row and in
# a picker line, the two kinds of place the pages show them, to be measured as they
# stand and hovered.
_SAMPLES = """async () => {
  const { ACTIVE_FREE_LABEL, PRESENCE_LABEL, STATE_LABELS, statusClass } = await import("/static/js/status.js");
  const chip = (cls, text) => Object.assign(document.createElement("span"), { className: cls, textContent: text });
  const statuses = Object.entries(STATE_LABELS).map(([state, t]) => chip(`status ${statusClass({ state }, 1)}`, t));
  statuses.push(chip(`status ${statusClass({ state: "active" }, 0)}`, ACTIVE_FREE_LABEL));
  const box = document.createElement("section");
  box.className = "card";
  box.id = "samples";
  const table = box.appendChild(document.createElement("table"));
  const cell = table.createTBody().insertRow().insertCell();
  cell.append(...statuses);
  const line = box.appendChild(document.createElement("div"));
  line.className = "colleague";
  line.append(...Object.entries(PRESENCE_LABEL).map(([key, label]) => chip(`presence ${key}`, label)));
  document.querySelector("main").append(box);
  return statuses.length;
}"""


def _contrast(page: Page, where: str, selector: str, *, hover: tuple[str, ...] = ()) -> list[str]:
    """Contrast failures of what `selector` matches, in both schemes, as it stands and
    with the pointer on each of `hover`."""
    bad: list[str] = []
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        measured = contrast.measure(page, selector)
        assert measured, f"nothing to measure: {selector} in {where}"
        bad += contrast.failures(measured, f"{where} ({scheme})")
        for target in hover:
            page.hover(target)
            measured = contrast.measure(page, f"{target} :is({selector})")
            assert measured, f"nothing to measure: {selector} in {target}"
            bad += contrast.failures(measured, f"{where}, {target} hovered ({scheme})")
        page.mouse.move(0, 0)
    page.emulate_media(color_scheme="light")
    return bad


def test_W1_every_status_colour_meets_AA_contrast_light_and_dark(browser: Browser, scene: Scene) -> None:
    """W1: a status shows as a colour and its text. Every status and presence chip, in
    each kind of place, reads at 4.5:1 and its dot shows at 3:1 (WCAG 2.x AA) in the light
    and the dark scheme, and so do the report's bars and legend (3:1, marks)."""
    site = scene.site
    page = _page(browser, site)
    _sign_in(page, scene.supervisor)
    expect(page.locator("#agents tbody tr")).to_have_count(6)
    assert page.evaluate(_SAMPLES) == 8
    chips = ".status, .presence"
    bad = _contrast(page, "supervisor widget", chips, hover=("#samples tr", "#samples .colleague"))
    page.locator(f'#agents tbody tr[data-agent-id="{scene.hana.id}"]').click()
    expect(page.locator("#card-status .status")).to_be_visible()
    bad += _contrast(page, "agent card", "#card .status")

    page.goto("/reports")
    expect(page.locator("#time-chart svg rect").first).to_be_visible()
    expect(page.locator("#legend .swatch").first).to_be_visible()
    bad += _contrast(page, "reports", "#time-chart .rp-fill, #legend .swatch")  # a bar's pattern is the card's colour
    page.context.close()

    page = _page(browser, site)
    _sign_in(page, scene.ann)
    expect(page.locator("#my-status")).to_have_text("Active")
    bad += _contrast(page, "agent workspace", "#my-status")
    page.locator(".thread", has_text="alice").get_by_role("button", name="Transfer…").click()
    expect(page.locator("#transfer-dialog .colleague").first).to_be_visible()
    bad += _contrast(page, "transfer dialog", "#transfer-dialog .presence", hover=("#transfer-dialog .colleague",))
    page.context.close()
    assert not bad, "\n".join(bad)
