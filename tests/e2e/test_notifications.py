"""W7 on the agent's workspace: a thread given to the agent is announced by a tone, a
desktop notification and a count in the tab's title, each of which the agent can mute.

The browser is instrumented, not the page: an init script records the notifications
the page creates and the tones it starts, and lets the test say whether the person is
looking at the tab (a headless browser's tab is always visible and focused).
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Site, sign_in

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
    expect(page.get_by_label("Sound")).not_to_be_checked()
    expect(page.get_by_label("Desktop notification")).not_to_be_checked()
    expect(page.get_by_label("Count in the tab's title")).to_be_checked()
    assert page.evaluate(f"JSON.parse(localStorage.getItem('onduty.alerts.{ann.id}'))") == {
        "sound": False,
        "desktop": False,
        "title": True,
    }
    site.api(bea, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})  # so the next one is Ann's
    page.evaluate("window.__away(true)")
    site.client_writes("carol", "Is the shop open on Sunday?")
    expect(page).to_have_title(f"(1) {TITLE}")
    assert (shown(page), tones(page)) == ([], 0)
    # The count muted too: it leaves the title at once, and the menu says all is off.
    page.get_by_label("Count in the tab's title").uncheck()
    expect(page).to_have_title(TITLE)
    expect(page.get_by_role("button", name="Alerts (off)")).to_be_visible()
