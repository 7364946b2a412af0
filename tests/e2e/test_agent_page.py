"""The agent's workspace (/agent) in a real browser against a real server.

Each test drives the page as an agent would, while other people act through
the API (`site.api`, `site.client_writes`), and checks both what the page shows
and what the service recorded.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Person, Site, screenshot, sign_in


def agent_row(site: Site, who: Person) -> dict[str, Any]:
    rows: list[dict[str, Any]] = site.api(site.admin, "GET", "/agents")
    return next(row for row in rows if row["id"] == who.id)


def choose_status(page: Page, label: str) -> None:
    page.get_by_label("Change my status").select_option(label=label)
    page.get_by_role("button", name="Set status").click()


# The status picker's options whose label is wider than the closed picker shows.
CUT_OFF_OPTIONS = """
(() => {
  const select = document.querySelector("#status-choice");
  const style = getComputedStyle(select);
  const pen = document.createElement("canvas").getContext("2d");
  pen.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const arrow = 24;
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - arrow;
  return [...select.options].filter((o) => pen.measureText(o.text).width > room).map((o) => o.text);
})()
"""

# What is on top at the centre of the toast: the toast itself, or what covers it.
TOAST_ON_TOP = """
(() => {
  const toast = document.querySelector("#toast");
  const box = toast.getBoundingClientRect();
  const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
  return Boolean(top && toast.contains(top));
})()
"""


def test_a_thread_arrives_live_is_answered_pinned_and_transferred_by_presence_R3_R8_W4(
    browser: Browser, site: Site
) -> None:
    ann = site.person("agent", "Ann Agent")
    bea = site.person("agent", "Bea Lunch")
    cal = site.person("agent", "Cal Home", capacity=1)
    dan = site.person("agent", "Dan Desk")
    sam = site.person("supervisor", "Sam Super")
    site.api(site.admin, "PATCH", "/reasons/training", {"requires_approval": True})
    site.api(bea, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})  # logs in, then lunch
    site.api(cal, "POST", "/me/login")
    site.api(cal, "POST", "/me/logout")
    site.api(dan, "PUT", "/me/status", {"state": "active_own_clients"})  # online, takes no queue threads

    page = sign_in(browser, site, ann)
    expect(page).to_have_url(f"{site.base}/agent")
    # Opening the workspace logs the agent in (S5): the first login ever is "Not ready".
    expect(page.locator("#my-status")).to_have_text("Not ready")
    expect(page.locator("#no-threads")).to_be_visible()
    choose_status(page, "Active")
    expect(page.locator("#my-status")).to_have_text("Active (free)")

    # New threads appear without a reload.
    site.client_writes("alice", "Hello, my parcel never arrived.")
    alice = page.locator(".thread", has_text="alice")
    expect(alice).to_be_visible()
    expect(alice.locator(".pill.state-assigned")).to_have_text("Waiting for your answer")
    expect(page.locator("#my-status")).to_have_text("Active")
    site.client_writes("bob", "Can I change my delivery address?")
    bob = page.locator(".thread", has_text="bob")
    expect(bob).to_be_visible()
    expect(page.locator("#thread-count")).to_have_text("2")

    # Answer alice, then the client's follow-up arrives live in the same card.
    alice.get_by_label("Answer alice").fill("Sorry to hear that! Let me check the tracking.")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator(".message.agent")).to_have_text(re.compile("Let me check the tracking"))
    expect(alice.locator(".pill.state-in_progress")).to_have_text("In progress")
    site.client_writes("alice", "Order number is 48213.")
    order = alice.locator(".message", has_text="48213")
    expect(order).to_be_visible()

    # Pin the order number (R8): the supervisor's widget counts it.
    order.get_by_role("button", name="Pin this message").click()
    expect(order).to_have_class(re.compile(r"\bpinned\b"))
    expect(alice.locator(".pinned-count")).to_have_text("1 pinned")
    expect(page.locator("#my-pins")).to_have_text("1")
    assert agent_row(site, ann)["pinned_messages"] == 1

    # The transfer picker shows each colleague's presence (W4) with its word, not colour alone.
    alice.get_by_role("button", name="Transfer…").click()
    dialog = page.get_by_role("dialog", name="Transfer thread")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".colleague", has_text="Bea Lunch").locator(".presence")).to_have_text("Away")
    expect(dialog.locator(".colleague", has_text="Bea Lunch")).to_contain_text("Lunch break")
    expect(dialog.locator(".colleague", has_text="Cal Home").locator(".presence")).to_have_text("Offline")
    expect(dialog.locator(".colleague", has_text="Dan Desk").locator(".presence")).to_have_text("Online")
    expect(dialog.locator(".colleague", has_text="Ann Agent")).to_have_count(0)  # not oneself
    # How busy each one is, beside their presence: threads held of their capacity.
    expect(dialog.locator(".colleague", has_text="Bea Lunch").locator(".colleague-load")).to_have_text("0 of 3 threads")
    expect(dialog.locator(".colleague", has_text="Cal Home").locator(".colleague-load")).to_have_text("0 of 1 thread")
    # Presence is live: Dan goes to a meeting while the picker is open.
    site.api(dan, "PUT", "/me/status", {"state": "inactive", "reason": "meeting"})
    expect(dialog.locator(".colleague", has_text="Dan Desk").locator(".presence")).to_have_text("Away")
    dialog.get_by_label("Find a colleague").fill("lunch")
    expect(dialog.locator(".colleague")).to_have_count(1)
    dialog.get_by_label("Find a colleague").fill("")
    dialog.locator(".colleague", has_text="Bea Lunch").locator("label").click()
    screenshot(page, "agent-transfer")
    # A message that comes while the dialog is open shows above it, not under its backdrop.
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "training"})
    expect(page.locator("#pending")).to_contain_text("Training")
    [request] = site.api(sam, "GET", "/approvals?state=pending")
    site.api(sam, "POST", f"/approvals/{request['id']}/reject")
    expect(page.locator("#toast")).to_have_text("Your request for Training was rejected.")
    assert page.evaluate(TOAST_ON_TOP)

    # R3: a transfer goes to anyone, whatever their status; the pin goes with the thread.
    dialog.get_by_role("button", name="Transfer", exact=True).click()
    expect(dialog).to_be_hidden()
    # The toast left with the dialog: on the page again, above everything there.
    expect(page.locator("#toast")).to_contain_text("transferred to Bea Lunch")
    assert page.evaluate(TOAST_ON_TOP)
    expect(alice).to_have_count(0)
    expect(page.locator("#thread-count")).to_have_text("1")
    expect(page.locator("#my-pins")).to_have_text("0")
    moved = site.api(bea, "GET", f"/threads?agent_id={bea.id}")["items"]
    assert [(t["client_id"], t["state"]) for t in moved] == [("alice", "assigned")]
    assert agent_row(site, bea)["pinned_messages"] == 1
    assert agent_row(site, ann)["pinned_messages"] == 0
    # The picker's counts are the colleague's real load: Bea holds alice now.
    bob.get_by_role("button", name="Transfer…").click()
    expect(dialog.locator(".colleague", has_text="Bea Lunch").locator(".colleague-load")).to_have_text("1 of 3 threads")
    dialog.get_by_role("button", name="Cancel transfer").click()
    expect(dialog).to_be_hidden()

    # Closing bob's thread empties the list.
    bob.get_by_role("button", name="Close thread").click()
    expect(page.locator("#no-threads")).to_be_visible()
    expect(page.locator("#my-status")).to_have_text("Active (free)")


def test_continue_working_prompt_counts_down_and_ignoring_it_kicks_out_S6(browser: Browser, site: Site) -> None:
    ann = site.person("agent", "Ann Agent")
    site.ready(ann)
    page = sign_in(browser, site, ann)
    expect(page.locator("#my-status")).to_have_text("Active (free)")
    # One conversation under way, with a pinned message ...
    dora = site.client_writes("dora", "Hi! I was charged twice for order 7731.")
    site.api(ann, "POST", f"/threads/{dora['id']}/messages", {"text": "I see both charges; refunding one now."})
    answered = site.client_writes("dora", "Thanks. The card ends in 4412.")
    site.api(ann, "POST", f"/threads/{dora['id']}/messages/{answered['messages'][-1]['id']}/pin")
    expect(page.locator(".thread", has_text="dora").locator(".message.pinned")).to_contain_text("4412")
    # ... and a new one nobody answers.
    site.api(site.admin, "PATCH", "/settings", {"response_timeout": 2, "prompt_timeout": 30})
    site.client_writes("carol", "Anyone there? My account is locked.")
    expect(page.locator(".thread", has_text="carol")).to_be_visible()

    # Unanswered for response_timeout: the page asks, with the time left.
    prompt = page.get_by_role("alertdialog", name="Continue working?")
    expect(prompt).to_be_visible(timeout=6000)
    left = page.locator("#prompt-left")
    expect(left).to_have_text(re.compile(r"^\d+ s$"))
    seconds = int(left.inner_text().split()[0])
    assert 20 <= seconds <= 30, seconds
    expect(left).not_to_have_text(f"{seconds} s")  # it counts down
    screenshot(page, "agent-workspace")

    # Continue (from the keyboard) keeps the agent active.
    prompt.get_by_role("button", name="Continue").focus()
    page.keyboard.press("Enter")
    expect(prompt).to_be_hidden()
    expect(page.locator("#my-status")).to_have_text("Active")
    assert agent_row(site, ann)["status"]["state"] == "active"

    # Ignored this time (the next prompt gives one second): kicked out, and told so.
    site.api(site.admin, "PATCH", "/settings", {"prompt_timeout": 1})
    kicked = page.locator("#kicked")
    expect(kicked).to_be_visible(timeout=8000)
    expect(kicked).to_contain_text("You were kicked out")
    expect(page.locator("#my-status")).to_have_text("Inactive (kicked out)")
    expect(prompt).to_be_hidden()
    expect(page.locator(".thread")).to_have_count(0)  # all back in the queue (S6)

    # The page offers to choose a status; choosing Active brings the thread back.
    page.get_by_role("button", name="Choose a status").click()
    expect(page.get_by_label("Change my status")).to_be_focused()
    page.get_by_role("button", name="Set status").click()
    expect(kicked).to_be_hidden()
    expect(page.locator(".thread")).to_have_count(2)
    expect(page.locator("#my-status")).to_have_text("Active")


def test_a_reason_that_needs_approval_shows_the_pending_request_until_approved_S4(browser: Browser, site: Site) -> None:
    ann = site.person("agent", "Ann Agent")
    sam = site.person("supervisor", "Sam Super")
    for reason in ("training", "technical_break"):
        site.api(site.admin, "PATCH", f"/reasons/{reason}", {"requires_approval": True})
    page = sign_in(browser, site, ann)
    expect(page.locator("#my-status")).to_have_text("Not ready")

    # The reasons that need approval are grouped under a heading that says so, so each
    # option reads just its label, and the closed picker shows every label whole.
    choice = page.get_by_label("Change my status")
    expect(choice.locator('optgroup[label="Inactive — needs approval"] option')).to_have_text(
        ["Training", "Technical break"]
    )
    expect(choice.locator('optgroup[label="Inactive"] option', has_text="Lunch break")).to_have_text("Lunch break")
    assert page.evaluate(CUT_OFF_OPTIONS) == []
    choice.select_option(label="Technical break")
    expect(page.locator("#status-hint")).to_have_text(
        "Technical break needs a supervisor's approval: you keep your status until they decide."
    )
    choose_status(page, "Training")
    pending = page.locator("#pending")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text("Waiting for approval: Training")
    expect(page.locator("#my-status")).to_have_text("Not ready")  # unchanged until decided

    # The request stays shown across a reload.
    page.reload()
    expect(pending).to_contain_text("Waiting for approval: Training")

    [request] = site.api(sam, "GET", "/approvals?state=pending")
    site.api(sam, "POST", f"/approvals/{request['id']}/approve")
    expect(page.locator("#my-status")).to_have_text("Training")
    expect(pending).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("approved")


def test_login_restores_the_last_status_and_the_page_survives_a_restart_S5(browser: Browser, site: Site) -> None:
    ann = site.person("agent", "Ann Agent")
    page = sign_in(browser, site, ann, width=390, height=844)  # a phone
    expect(page.locator("#my-status")).to_have_text("Not ready")
    choose_status(page, "Lunch break")
    expect(page.locator("#my-status")).to_have_text("Lunch break")

    # S9: signing out is the logout too, and ends the session.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login*")
    assert agent_row(site, ann)["status"]["state"] == "offline"
    assert page.evaluate("localStorage.getItem('onduty.session')") is None

    # Signing in opens the workspace, which is the login: the status from before the logout comes back.
    page.get_by_label("Username").fill(ann.username)
    page.get_by_label("Password").fill(ann.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#my-status")).to_have_text("Lunch break")
    expect(page.locator("#logged-out")).to_be_hidden()
    assert agent_row(site, ann)["status"]["reason"] == "lunch"
    # Readable on a narrow screen: nothing runs off the side.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The live stream says when it is away and comes back by itself.
    site.stop()
    expect(page.locator("#connection")).to_have_text("Reconnecting…")
    site.start()
    expect(page.locator("#connection")).to_be_hidden(timeout=8000)
    site.api(ann, "PUT", "/me/status", {"state": "active"})
    expect(page.locator("#my-status")).to_have_text("Active (free)")

    # On the phone the status card stays short: a new thread shows on the first screen,
    # its message and the answer box down to "Send", and the picker shows its labels whole.
    site.client_writes("erin", "My code does not work at checkout.")
    erin = page.locator(".thread", has_text="erin")
    expect(erin.locator(".message")).to_be_in_viewport(ratio=1)
    expect(erin.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate(CUT_OFF_OPTIONS) == []
