"""W7: new work is announced by a tone, a desktop notification and a count in the tab's
title, each of which the person can mute, in this browser: on the agent's workspace a
thread given to the agent, on the supervisor's page a new approval request.

The browser is instrumented, not the page: an init script records the notifications
the page creates and the tones it starts, and lets the test say whether the person is
looking at the tab (a headless browser's tab is always visible and focused).
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Person, Site, live, sign_in

INSTRUMENT = """
(() => {
  window.__shown = [];
  window.__tones = 0;
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      super(title, options);
      window.__shown.push({ title, body: options.body, tag: options.tag });
    }
  };
  const start = AudioScheduledSourceNode.prototype.start;
  AudioScheduledSourceNode.prototype.start = function (...args) {
    window.__tones += 1;
    return start.apply(this, args);
  };
  let away = false;
  const seen = () => (away ? "hidden" : "visible");
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: seen });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => away });
  const hasFocus = Document.prototype.hasFocus;
  Document.prototype.hasFocus = function () { return !away && hasFocus.call(this); };
  window.__away = (value) => {
    away = value;
    document.dispatchEvent(new Event("visibilitychange"));
    if (!value) window.dispatchEvent(new Event("focus"));
  };
})();
"""
TITLE = "My workspace · onduty"


def shown(page: Page) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = page.evaluate("window.__shown")
    return notes


def kept_muted(page: Page, who: Person) -> None:
    """After a reload, the Alerts menu shows sound and desktop muted and the count on, as
    chosen before it, and the browser keeps that under the person's own key."""
    expect(page.get_by_label("Sound")).not_to_be_checked()
    expect(page.get_by_label("Desktop notification")).not_to_be_checked()
    expect(page.get_by_label("Count in the tab's title")).to_be_checked()
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('onduty.alerts.{who.id}'))")
    assert kept == {"sound": False, "desktop": False, "title": True}


def tones(page: Page) -> int:
    count: int = page.evaluate("window.__tones")
    return count


def test_a_thread_given_to_the_agent_is_announced_until_they_look_and_each_alert_mutes_W7(
    browser: Browser, site: Site
) -> None:
    ann = site.person("agent", "Ann Agent")
    bea = site.person("agent", "Bea Busy")
    site.ready(bea)
    bob = site.client_writes("bob", "Where is my refund?")  # Bea's: Ann is not ready yet

    page = sign_in(browser, site, ann, permissions=["notifications"], init_script=INSTRUMENT)
    expect(page.locator("#my-status")).to_have_text("Not ready")
    # The agent's own click on "Set status" is the gesture that lets the page make sounds.
    page.get_by_label("Change my status").select_option(label="Active")
    page.get_by_role("button", name="Set status").click()
    expect(page.locator("#my-status")).to_have_text("Active (free)")
    alerts = page.get_by_role("button", name="Alerts")
    expect(alerts).to_have_attribute("aria-expanded", "false")
    alerts.click()
    expect(alerts).to_have_attribute("aria-expanded", "true")
    for channel in ("Sound", "Desktop notification", "Count in the tab's title"):
        expect(page.get_by_label(channel)).to_be_checked()
    page.keyboard.press("Escape")
    expect(alerts).to_have_attribute("aria-expanded", "false")
    expect(page).to_have_title(TITLE)

    # Ann looks elsewhere. The router gives her a new thread: a tone, a notification, "(1)".
    page.evaluate("window.__away(true)")
    alice = site.client_writes("alice", "Hello, my parcel never arrived.")
    expect(page).to_have_title(f"(1) {TITLE}")
    assert shown(page) == [
        {"title": "New thread: alice", "body": "Hello, my parcel never arrived.", "tag": f"thread-{alice['id']}"}
    ]
    assert tones(page) == 2  # two notes of one chime
    # A transfer to her by a colleague counts the same.
    site.api(bea, "POST", f"/threads/{bob['id']}/transfer", {"agent_id": ann.id})
    expect(page).to_have_title(f"(2) {TITLE}")
    transferred = {"title": "Transferred to you: bob", "body": "Where is my refund?", "tag": f"thread-{bob['id']}"}
    assert shown(page)[-1] == transferred
    assert tones(page) == 4
    # She comes back to the tab: the count goes.
    page.evaluate("window.__away(false)")
    expect(page).to_have_title(TITLE)
    # Her own acts are not news: transferring bob back to Bea announces nothing here.
    page.locator(".thread", has_text="bob").get_by_role("button", name="Transfer…").click()
    dialog = page.get_by_role("dialog", name="Transfer thread")
    dialog.locator(".colleague", has_text="Bea Busy").locator("label").click()
    dialog.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator(".thread", has_text="bob")).to_have_count(0)
    assert (len(shown(page)), tones(page)) == (2, 4)

    # Sound and desktop notifications muted: remembered across a reload, for this person.
    alerts.click()
    page.get_by_label("Sound").uncheck()
    page.get_by_label("Desktop notification").uncheck()
    page.reload()
    expect(page.locator("#my-status")).to_have_text("Active")
    alerts.click()  # also the new page's first gesture: sound could play, if it were on
    kept_muted(page, ann)
    # Bea goes to lunch so that the next one is Ann's; bob, unanswered, leaves her for Ann
    # (R5). That arrives while Ann looks at the page, so it is no news.
    site.api(bea, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    expect(page.locator(".thread", has_text="bob")).to_have_count(1)
    page.evaluate("window.__away(true)")
    site.client_writes("carol", "Is the shop open on Sunday?")
    expect(page).to_have_title(f"(1) {TITLE}")
    assert (shown(page), tones(page)) == ([], 0)
    # The count muted too: it leaves the title at once, and the menu says all is off.
    page.get_by_label("Count in the tab's title").uncheck()
    expect(page).to_have_title(TITLE)
    expect(page.get_by_role("button", name="Alerts (off)")).to_be_visible()


def test_W7_on_the_supervisor_page_a_request_is_announced_and_each_alert_mutes_and_is_kept(
    browser: Browser, site: Site
) -> None:
    """W7 on the supervisor page: an approval request of an agent of the team plays the
    tone, shows a desktop notification and counts in the title while the supervisor looks
    elsewhere (another team's request is not theirs); each of the three mutes, and the
    choices are kept for this person in this browser (localStorage) across a reload."""
    site.api(site.admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching", "requires_approval": True})
    sam = site.person("supervisor", "Sam Super")
    eve = site.person("agent", "Eve Evans")
    dan = site.person("agent", "Dan Dale")
    cat = site.person("agent", "Cat Cole")
    olga = site.person("agent", "Olga Other", team="other")
    for agent in (eve, dan, cat, olga):
        site.api(agent, "POST", "/me/login")

    def asks(agent: Person) -> int:
        body = {"state": "inactive", "reason": "coaching"}
        request_id: int = site.api(agent, "PUT", "/me/status", body, expect=202)["id"]
        return request_id

    def note(agent_name: str, request_id: int) -> dict[str, Any]:
        return {
            "title": f"{agent_name} asks for Coaching",
            "body": "Approve or reject it on their card.",
            "tag": f"approval-{request_id}",
        }

    page = sign_in(browser, site, sam, permissions=["notifications"], init_script=INSTRUMENT)
    live(page)
    title = page.title()
    alerts = page.get_by_role("button", name="Alerts")
    alerts.click()  # the person's first gesture: the page may make sounds from now on
    for channel in ("Sound", "Desktop notification", "Count in the tab's title"):
        expect(page.get_by_label(channel)).to_be_checked()
    page.keyboard.press("Escape")

    # Sam looks elsewhere. Olga (another team) asks, then Eve: only Eve's is announced.
    page.evaluate("window.__away(true)")
    asks(olga)
    eve_asked = asks(eve)
    expect(page).to_have_title(f"(1) {title}")
    assert shown(page) == [note("Eve Evans", eve_asked)]
    assert tones(page) == 2  # two notes of one chime
    page.evaluate("window.__away(false)")
    expect(page).to_have_title(title)

    # Sound and desktop notifications muted: remembered across a reload, for this person.
    alerts.click()
    page.get_by_label("Sound").uncheck()
    page.get_by_label("Desktop notification").uncheck()
    page.reload()
    live(page)
    alerts.click()  # also the new page's first gesture: sound could play, if it were on
    kept_muted(page, sam)
    page.evaluate("window.__away(true)")
    asks(dan)
    expect(page).to_have_title(f"(1) {title}")
    assert (shown(page), tones(page)) == ([], 0)

    # The count muted too: it leaves the title at once, the menu says all is off, and the
    # next request is not counted either; still so after a reload.
    page.get_by_label("Count in the tab's title").uncheck()
    expect(page).to_have_title(title)
    expect(page.get_by_role("button", name="Alerts (off)")).to_be_visible()
    page.reload()
    live(page)
    expect(page.get_by_role("button", name="Alerts (off)")).to_be_visible()
    page.get_by_role("button", name="Alerts (off)").click()  # a gesture: sound could play
    page.keyboard.press("Escape")
    page.evaluate("window.__away(true)")
    asks(cat)
    # The bell comes with the row (`agent.updated`), after the request's own event: by then
    # the page has had its say about the request.
    expect(page.locator(f'#agents tbody tr[data-agent-id="{cat.id}"] .bell')).to_be_visible()
    expect(page).to_have_title(title)
    assert (shown(page), tones(page)) == ([], 0)

    # A browser that refuses storage (a private window, a full quota): the choice still
    # holds for the page, without a script error.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.evaluate("() => { Storage.prototype.setItem = () => { throw new DOMException('', 'QuotaExceededError'); } }")
    page.get_by_role("button", name="Alerts (off)").click()
    page.get_by_label("Count in the tab's title").check()
    expect(page.get_by_role("button", name="Alerts", exact=True)).to_be_visible()
    expect(page).to_have_title(f"(1) {title}")  # Cat's request, not seen yet, now counted
    assert errors == []
