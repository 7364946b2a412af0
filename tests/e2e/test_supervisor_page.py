"""The supervisor's page: the live status widget (W1), its filter (W2), the agent card
(W3) with the status picker (S2) and approvals (S4, W6), why threads wait (W5: halted,
R6, or at capacity), acting on threads from the card and the queue (W6), and a widget
that keeps up through a server restart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Person, Site, live, screenshot, sign_in
from tests.e2e.test_notifications import INSTRUMENT, shown

STATE_OWN_CLIENTS = "Active (doesn't receive threads)"


@dataclass(frozen=True, slots=True)
class Team:
    supervisor: Person
    ann: Person  # active, two threads, one pinned message
    bob: Person  # active, free
    cat: Person  # active, free (goes to lunch in the tests)
    dan: Person  # inactive: a custom reason
    eve: Person  # not ready, asks for a reason that requires approval (the bell)
    finn: Person  # offline: never logged in
    hana: Person  # active, own clients only
    olga: Person  # another team's agent: never on this supervisor's page


def _team(site: Site) -> Team:
    """A realistic scene: several agents in different statuses, a custom reason, a
    pending request, threads with a pinned message, and another team."""
    admin = site.admin
    site.api(admin, "POST", "/reasons", {"code": "email_backlog", "label": "Email backlog"})
    site.api(admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching", "requires_approval": True})
    team = Team(
        supervisor=site.person("supervisor", "Sam Super"),
        ann=site.person("agent", "Ann Agent"),
        bob=site.person("agent", "Bob Brown"),
        cat=site.person("agent", "Cat Cole"),
        dan=site.person("agent", "Dan Dale"),
        eve=site.person("agent", "Eve Evans"),
        finn=site.person("agent", "Finn Ford"),
        hana=site.person("agent", "Hana Hill"),
        olga=site.person("agent", "Olga Other", team="other"),
    )
    site.ready(team.ann)  # alone ready: both threads go to Ann (R1, R2)
    first = site.client_writes("alice", "Hello, my parcel has not arrived yet.")
    site.client_writes("bruno", "Can I change the delivery address?")
    answered = site.api(team.ann, "POST", f"/threads/{first['id']}/messages", {"text": "Let me check that for you."})
    site.api(team.ann, "POST", f"/threads/{first['id']}/messages/{answered['messages'][0]['id']}/pin")
    site.ready(team.bob)
    site.ready(team.cat)
    site.api(team.dan, "POST", "/me/login")
    site.api(team.dan, "PUT", "/me/status", {"state": "inactive", "reason": "email_backlog"})
    site.api(team.eve, "POST", "/me/login")
    site.api(team.eve, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    site.api(team.hana, "POST", "/me/login")
    site.api(team.hana, "PUT", "/me/status", {"state": "active_own_clients"})
    site.ready(team.olga)
    return team


def _row(page: Page, agent: Person) -> Locator:
    return page.locator(f'#agents tbody tr[data-agent-id="{agent.id}"]')


def _mark_page(page: Page) -> list[str]:
    """A mark that a reload would wipe (the checks below prove nothing reloaded), and
    from here on a list of the page's script errors, which should stay empty."""
    page.evaluate("window.__stillTheSamePage = true")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _view_read_only(
    page: Page, site: Site, item: Locator, thread: dict[str, Any], state: list[str], said: list[str], then: str
) -> None:
    """W6: the item's View opens its thread read only: `state`'s lines, one message per
    entry of `said` (each containing it), no answer box, nothing to act with but closing the
    view. The client's next message (`then`) shows live; Escape gives the focus back to View."""
    item.get_by_role("button", name="View").click()
    view = page.get_by_role("dialog", name=f"Thread #{thread['id']} with {thread['client_id']}")
    for line in state:
        expect(view.locator("#thread-view-state")).to_contain_text(line)
    messages = view.locator("#thread-view-messages li")
    expect(messages).to_have_count(len(said))
    for n, text in enumerate(said):
        expect(messages.nth(n)).to_contain_text(text)
    expect(view.get_by_role("textbox")).to_have_count(0)
    expect(view.get_by_role("button")).to_have_count(1)  # closing the view: nothing to act with
    site.client_writes(thread["client_id"], then)
    expect(messages).to_have_count(len(said) + 1)
    expect(messages.nth(len(said))).to_contain_text(then)
    page.keyboard.press("Escape")
    expect(view).to_be_hidden()
    expect(item.get_by_role("button", name="View")).to_be_focused()


def _same_page(page: Page) -> bool:
    return bool(page.evaluate("window.__stillTheSamePage === true"))


def test_W1_W2_rows_change_live_and_the_filter_narrows_them(browser: Browser, site: Site) -> None:
    """W1: one row per agent of the team, changing the moment the agent's status
    changes, without reload; W2: the filter by state, active_free and reason."""
    team = _team(site)
    page = sign_in(browser, site, team.supervisor)
    expect(page).to_have_url(f"{site.base}/supervisor")
    rows = page.locator("#agents tbody tr")
    expect(rows).to_have_count(8 - 1)  # the team's seven agents; Olga is another team's
    expect(page.locator("#agents")).not_to_contain_text("Olga Other")
    expect(_row(page, team.ann)).to_contain_text("Active")
    expect(_row(page, team.ann).locator("td").nth(2)).to_have_text("2 / 3")  # threads of capacity
    expect(_row(page, team.ann).locator("td").nth(3)).to_have_text("1")  # pinned (R8)
    expect(_row(page, team.bob)).to_contain_text("Active (free)")
    expect(_row(page, team.dan)).to_contain_text("Email backlog")  # a custom reason (S1)
    expect(_row(page, team.eve).locator(".bell")).to_contain_text("asks Coaching")
    expect(_row(page, team.finn)).to_contain_text("Offline")
    expect(_row(page, team.hana)).to_contain_text(STATE_OWN_CLIENTS)
    # The time since the last change counts up, for the states that show it.
    since = _row(page, team.finn).locator("td.since")
    first = since.inner_text()
    expect(since).not_to_have_text(first, timeout=3000)
    expect(_row(page, team.bob).locator("td.since")).to_have_text("–")

    # W1: Cat goes to lunch; the row says so without a reload.
    errors = _mark_page(page)
    site.api(team.cat, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    expect(_row(page, team.cat).locator(".status")).to_have_text("Lunch break")
    expect(_row(page, team.cat).locator("td.since")).to_have_text("0s", timeout=3000)
    assert _same_page(page)
    assert errors == []

    # W2: the filter narrows the rows, and says how many it shows.
    page.get_by_label("Show").select_option(label="Lunch break")
    expect(page.locator("#agents tbody tr:visible")).to_have_count(1)
    expect(_row(page, team.cat)).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Showing 1 of 7")
    page.get_by_label("Show").select_option(label="Active (free)")
    expect(page.locator("#agents tbody tr:visible")).to_have_count(1)
    expect(_row(page, team.bob)).to_be_visible()
    page.get_by_label("Show").select_option(label="Email backlog")  # custom reasons too
    expect(page.locator("#agents tbody tr:visible")).to_have_count(1)
    expect(_row(page, team.dan)).to_be_visible()
    # A row that starts to match while the filter is on appears by itself.
    site.api(team.bob, "PUT", "/me/status", {"state": "inactive", "reason": "email_backlog"})
    expect(page.locator("#agents tbody tr:visible")).to_have_count(2)
    page.get_by_label("Show").select_option(label="All agents")
    expect(page.locator("#agents tbody tr:visible")).to_have_count(7)
    assert _same_page(page)
    assert errors == []

    site.api(team.bob, "PUT", "/me/status", {"state": "active"})
    expect(_row(page, team.bob)).to_contain_text("Active (free)")
    screenshot(page, "supervisor-widget")

    # A narrow screen (a phone): every row still shows the name and the status in words.
    page.set_viewport_size({"width": 390, "height": 844})
    for person, status in ((team.ann, "Active"), (team.cat, "Lunch break"), (team.hana, STATE_OWN_CLIENTS)):
        row = _row(page, person)
        expect(row.locator(".name")).to_be_visible()
        expect(row.locator(".status")).to_have_text(status)
        box = row.locator(".status").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the side
    screenshot(page, "supervisor-narrow")


def test_W3_S4_S2_the_agent_card_approves_and_changes_status(browser: Browser, site: Site) -> None:
    """W3: the card opens from the keyboard; S4: approving from the card applies the
    request (as S3, to finishing while Ann holds threads); S2: the status picker
    changes a status, and is off, with the reason, for an offline agent."""
    team = _team(site)
    page = sign_in(browser, site, team.supervisor)
    errors = _mark_page(page)
    # Ann, holding two threads, asks for a reason that needs approval: the bell rings.
    site.api(team.ann, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    expect(_row(page, team.ann).locator(".bell")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("2 pending requests")

    _row(page, team.ann).focus()
    page.keyboard.press("Enter")
    card = page.get_by_role("dialog")
    expect(card).to_be_visible()
    expect(card.locator("#card-name")).to_have_text("Ann Agent")
    expect(card.locator("#card-request")).to_contain_text("Ann Agent asks for Coaching")
    threads = card.locator("#card-threads li.thread")
    expect(threads).to_have_count(2)
    expect(threads.first).to_contain_text("alice")
    expect(threads.first).to_contain_text("1 pinned")
    expect(threads.nth(1)).to_contain_text("waiting for an answer")
    screenshot(page, "agent-card")

    card.get_by_role("button", name="Approve").click()
    # W6: Ann has not answered bruno yet, so approving asks first.
    page.get_by_role("alertdialog").get_by_role("button", name="Approve anyway").click()
    expect(card.locator("#card-request")).to_be_hidden()
    # S3: threads first; W1: the status names where she heads.
    expect(card.locator("#card-status .status")).to_have_text("Active (finishing → Coaching)")
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()
    expect(_row(page, team.ann)).to_be_focused()  # back where the card was opened from
    expect(_row(page, team.ann).locator(".status")).to_have_text("Active (finishing → Coaching)")
    expect(_row(page, team.ann).locator(".bell")).to_have_count(0)
    decided = site.api(team.supervisor, "GET", "/approvals?state=approved")
    assert [r["agent_id"] for r in decided] == [team.ann.id]

    # Rejecting Eve's request leaves her status as it was.
    _row(page, team.eve).click()
    expect(card.locator("#card-name")).to_have_text("Eve Evans")
    card.get_by_role("button", name="Reject").click()
    expect(card.locator("#card-request")).to_be_hidden()
    expect(_row(page, team.eve).locator(".bell")).to_have_count(0)
    expect(_row(page, team.eve).locator(".status")).to_have_text("Not ready")

    # S2: the picker sets Eve to lunch.
    card.get_by_label("Change status").select_option(label="Lunch break")
    card.get_by_role("button", name="Change").click()
    expect(_row(page, team.eve).locator(".status")).to_have_text("Lunch break")
    expect(card.locator("#card-status .status")).to_have_text("Lunch break")
    status = site.api(team.eve, "GET", "/me")["status"]
    assert status["reason"] == "lunch"
    assert (status["set_by"]["kind"], status["set_by"]["id"]) == ("supervisor", team.supervisor.id)
    card.get_by_role("button", name="Close the card").click()

    # S2: not while the agent is offline; the card says why.
    _row(page, team.finn).click()
    expect(card.locator("#card-name")).to_have_text("Finn Ford")
    expect(card.get_by_role("button", name="Change")).to_be_disabled()
    expect(card.locator("#card-change-note")).to_contain_text("Finn Ford is offline")
    expect(card.get_by_label("Change status")).to_be_disabled()
    assert _same_page(page)
    assert errors == []


def test_R6_the_banner_shows_while_threads_wait_and_nobody_is_ready(browser: Browser, site: Site) -> None:
    """R6: threads wait and nobody is active: a clear banner; it goes the moment an
    agent becomes active (and routing takes the thread)."""
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    site.api(ann, "POST", "/me/login")  # not ready
    page = sign_in(browser, site, supervisor)
    errors = _mark_page(page)
    banner = page.locator("#r6-banner")
    expect(page.locator("#queue-length")).to_have_text("0")
    expect(banner).to_be_hidden()

    site.client_writes("alice", "Is anybody there?")
    site.client_writes("bruno", "Hello?")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Nobody is active: routing is halted")
    expect(banner).to_contain_text("2 threads are waiting")
    expect(page.locator("#queue-length")).to_have_text("2")
    expect(page.locator("#queue-items li")).to_have_count(2)
    oldest = page.locator("#queue-oldest")
    before = oldest.inner_text()
    expect(oldest).not_to_have_text(before, timeout=3000)  # the oldest wait counts up

    site.api(ann, "PUT", "/me/status", {"state": "active"})
    expect(banner).to_be_hidden()
    expect(page.locator("#queue-length")).to_have_text("0")
    expect(_row(page, ann).locator("td").nth(2)).to_have_text("2 / 3")
    assert _same_page(page)
    assert errors == []


def test_W1_the_widget_keeps_up_through_a_server_restart(browser: Browser, site: Site) -> None:
    """W1, live and resilient: while the server is away the page says it is
    reconnecting; after, it has every change (one made before it reconnected, one
    after) with no duplicate row, without a reload."""
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Brown")
    site.ready(ann)
    site.ready(bob)
    page = sign_in(browser, site, supervisor)
    expect(_row(page, ann)).to_contain_text("Active (free)")
    errors = _mark_page(page)
    badge = page.locator("#connection")
    expect(badge).to_be_hidden()

    site.stop()
    expect(badge).to_be_visible()
    expect(badge).to_have_text("Reconnecting…")
    site.start()
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})  # maybe before the page is back
    expect(badge).to_be_hidden(timeout=15_000)
    expect(_row(page, ann).locator(".status")).to_have_text("Lunch break")

    site.api(bob, "PUT", "/me/status", {"state": "inactive", "reason": "short_break"})
    expect(_row(page, bob).locator(".status")).to_have_text("Short break")
    expect(page.locator("#agents tbody tr")).to_have_count(2)
    assert _same_page(page)
    assert errors == []


def test_w5_banner_says_at_capacity_not_halted_when_every_active_agent_is_full(browser: Browser, site: Site) -> None:
    """W5: a thread waits because every active agent is full: an amber notice that says
    so, not the red "halted"; when the last active agent leaves, it is halted (R6), in
    its own words; both live, without reload."""
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent", capacity=1)
    bob = site.person("agent", "Bob Brown")
    site.ready(ann)
    site.api(bob, "POST", "/me/login")  # not ready
    page = sign_in(browser, site, supervisor)
    errors = _mark_page(page)
    halted, full = page.locator("#r6-banner"), page.locator("#capacity-banner")
    routing = page.locator("#queue-routing")
    expect(routing).to_have_text("Routing: flowing (an active agent has room).")

    site.client_writes("alice", "Hello?")  # Ann's only place
    site.client_writes("bruno", "Anyone?")  # waits: Ann is full
    expect(full).to_be_visible()
    expect(full).to_contain_text("Every active agent is at capacity")
    expect(full).to_contain_text("1 thread is waiting in the queue for room")
    expect(halted).to_be_hidden()
    expect(routing).to_have_text("Routing: waiting for room (every active agent is full).")

    # Ann leaves active: nobody is; she keeps alice's thread and finishes it (R6, S3).
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    expect(halted).to_be_visible()
    expect(halted).to_contain_text("Nobody is active: routing is halted")
    expect(full).to_be_hidden()
    expect(routing).to_have_text("Routing: halted (nobody is Active).")

    site.ready(bob)  # takes bruno's thread
    expect(halted).to_be_hidden()
    expect(full).to_be_hidden()
    expect(page.locator("#queue-length")).to_have_text("0")
    assert _same_page(page)
    assert errors == []


def test_w6_approving_a_break_with_unanswered_threads_asks_first_and_none_is_one_click(
    browser: Browser, site: Site
) -> None:
    """W6: approving a break for an agent who holds unanswered threads first says how
    many, which, and what approving does to them (R5, or R6 and S3), in the page; Cancel
    approves nothing. With none, Approve is one click."""
    admin = site.admin
    site.api(admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching", "requires_approval": True})
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    cat = site.person("agent", "Cat Cole")
    site.ready(ann)
    first = site.client_writes("alice", "Hello?")
    second = site.client_writes("bruno", "Anyone?")
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    site.api(cat, "POST", "/me/login")
    site.api(cat, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    page = sign_in(browser, site, supervisor)
    errors = _mark_page(page)

    _row(page, ann).click()
    card = page.get_by_role("dialog")
    expect(card.locator("#card-threads li.thread")).to_have_count(2)
    card.get_by_role("button", name="Approve").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(
        f"Ann Agent still holds 2 unanswered threads: #{first['id']} (alice), #{second['id']} (bruno)."
    )
    expect(confirm).to_contain_text("they go back to the queue if another agent is ready to take them")
    expect(confirm).to_contain_text("If nobody is, Ann Agent keeps them and finishes them first, then goes to Coaching")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(card.get_by_role("button", name="Approve")).to_be_focused()
    pending = site.api(supervisor, "GET", "/approvals?state=pending")
    assert sorted(r["agent_id"] for r in pending) == sorted([ann.id, cat.id])  # nothing approved

    card.get_by_role("button", name="Approve").click()
    confirm.get_by_role("button", name="Approve anyway").click()
    expect(card.locator("#card-request")).to_be_hidden()
    # Nobody else is ready: she keeps both and finishes them first (R6, S3).
    expect(card.locator("#card-status .status")).to_have_text("Active (finishing → Coaching)")
    assert site.api(ann, "GET", "/me")["agent"]["threads"] == 2
    card.get_by_role("button", name="Close the card").click()

    # Cat holds nothing: one click.
    _row(page, cat).click()
    expect(card.locator("#card-name")).to_have_text("Cat Cole")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator("#card-request")).to_be_hidden()
    expect(confirm).to_be_hidden()
    expect(_row(page, cat).locator(".status")).to_have_text("Coaching")
    assert _same_page(page)
    assert errors == []


def test_W6_W7_the_supervisor_reads_transfers_closes_and_assigns_threads_and_hears_requests(
    browser: Browser, site: Site
) -> None:
    """W7: a new approval request raises the title's count and a desktop notification
    while the supervisor looks elsewhere. W6: from the card, a thread read only (live,
    no answer box), transferred to an agent of another status (R3) among the team's only,
    closed after a confirm; from the queue, a thread assigned to a chosen agent while
    routing is halted (R6); a refused action is said in words. All live, no reload."""
    site.api(site.admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching", "requires_approval": True})
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Brown")
    eve = site.person("agent", "Eve Evans")
    olga = site.person("agent", "Olga Other", team="other")
    site.ready(ann)  # alone ready: both threads go to Ann
    alice = site.client_writes("alice", "Hello, my parcel has not arrived yet.")
    bruno = site.client_writes("bruno", "Can I change the delivery address?")
    site.api(ann, "POST", f"/threads/{alice['id']}/messages", {"text": "Let me check that for you."})
    for agent in (bob, eve, olga):
        site.api(agent, "POST", "/me/login")  # not ready
    page = sign_in(browser, site, supervisor, permissions=["notifications"], init_script=INSTRUMENT)
    expect(_row(page, ann).locator("td").nth(2)).to_have_text("2 / 3")
    errors = _mark_page(page)
    title = page.title()

    # W7: Eve asks for a break that needs approval while Sam looks elsewhere.
    page.evaluate("window.__away(true)")
    request = site.api(eve, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    expect(page).to_have_title(f"(1) {title}")
    assert shown(page) == [
        {
            "title": "Eve Evans asks for Coaching",
            "body": "Approve or reject it on their card.",
            "tag": f"approval-{request['id']}",
        }
    ]
    page.evaluate("window.__away(false)")
    expect(page).to_have_title(title)

    # The card's thread, read only: messages, state, holder, no answer box; live.
    _row(page, ann).click()
    card = page.get_by_role("dialog", name="Ann Agent")
    items = card.locator("#card-threads li.thread")
    expect(items).to_have_count(2)
    alice_item = items.filter(has_text="alice")
    _view_read_only(
        page,
        site,
        alice_item,
        alice,
        ["In progress", "Held by Ann Agent"],
        ["Hello, my parcel", "Let me check that for you."],
        then="Thank you! It is order 1234.",
    )

    # Transfer bruno to Bob, not ready: the picker offers the team only, with presence,
    # status and load; Ann (the holder) and Olga (another team) are not offered.
    items.filter(has_text="bruno").get_by_role("button", name="Transfer…").click()
    picker = page.get_by_role("dialog", name="Transfer thread")
    expect(picker.locator("#transfer-what")).to_have_text(f"Thread #{bruno['id']} with bruno. Pins go with it.")
    bob_line = picker.locator(".colleague", has_text="Bob Brown")
    expect(bob_line).to_contain_text("Away")
    expect(bob_line).to_contain_text("Not ready")
    expect(bob_line).to_contain_text("0 of 3 threads")
    expect(picker.locator(".colleague")).to_have_count(2)  # Bob and Eve
    expect(picker.locator(".colleague", has_text="Olga Other")).to_have_count(0)
    expect(picker.locator(".colleague", has_text="Ann Agent")).to_have_count(0)
    picker.get_by_role("button", name="Transfer", exact=True).click()
    expect(picker.locator("#transfer-error")).to_have_text("Choose who gets the thread.")
    bob_line.locator("label").click()
    picker.get_by_role("button", name="Transfer", exact=True).click()
    expect(picker).to_be_hidden()
    expect(items).to_have_count(1)  # the card follows, live
    expect(_row(page, bob).locator("td").nth(2)).to_have_text("1 / 3")
    moved = site.api(supervisor, "GET", f"/threads/{bruno['id']}")
    assert (moved["agent_id"], moved["state"]) == (bob.id, "assigned")

    # A thread closed meanwhile: the transfer is refused, and says why.
    items.first.get_by_role("button", name="Transfer…").click()
    expect(bob_line).to_be_visible()
    site.api(ann, "POST", f"/threads/{alice['id']}/close")
    bob_line.locator("label").click()
    picker.get_by_role("button", name="Transfer", exact=True).click()
    expect(picker.locator("#transfer-error")).to_have_text(f"no open thread with id {alice['id']}")
    picker.get_by_role("button", name="Cancel", exact=True).click()
    expect(card.locator("#card-threads")).to_have_text("No open threads.")
    # Its button left with it: the focus goes to the card's list of threads, not the page's top.
    expect(card.locator("#card-threads-title")).to_be_focused()

    # Close from Bob's card, after a confirm (Cancel first: nothing happens).
    card.get_by_role("button", name="Close the card").click()
    _row(page, bob).click()
    card = page.get_by_role("dialog", name="Bob Brown")
    items = card.locator("#card-threads li.thread")
    expect(items).to_have_count(1)
    items.first.get_by_role("button", name="Close…").click()
    confirm = page.get_by_role("alertdialog", name="Close this thread?")
    expect(confirm).to_contain_text(f"Thread #{bruno['id']} with bruno, held by Bob Brown")
    confirm.get_by_role("button", name="Cancel").click()
    expect(items).to_have_count(1)
    items.first.get_by_role("button", name="Close…").click()
    confirm.get_by_role("button", name="Close thread").click()
    expect(confirm).to_be_hidden()
    expect(card.locator("#card-threads")).to_have_text("No open threads.")
    expect(card.locator("#card-threads-title")).to_be_focused()
    assert site.api(supervisor, "GET", f"/threads/{bruno['id']}")["state"] == "closed"
    card.get_by_role("button", name="Close the card").click()

    # R6: nobody is active; a new thread waits. Assigned from the queue to Ann, not ready.
    site.api(ann, "PUT", "/me/status", {"state": "not_ready"})
    carol = site.client_writes("carol", "Is the shop open on Sunday?")
    expect(page.locator("#r6-banner")).to_be_visible()
    page.locator("#queue-items li", has_text="carol").get_by_role("button", name="Assign to…").click()
    picker = page.get_by_role("dialog", name="Assign thread")
    ann_line = picker.locator(".colleague", has_text="Ann Agent")
    expect(ann_line).to_contain_text("Not ready")
    ann_line.locator("label").click()
    picker.get_by_role("button", name="Transfer", exact=True).click()
    expect(picker).to_be_hidden()
    expect(page.locator("#queue-length")).to_have_text("0")
    expect(page.locator("#r6-banner")).to_be_hidden()
    expect(_row(page, ann).locator("td").nth(2)).to_have_text("1 / 3")
    assigned = site.api(supervisor, "GET", f"/threads/{carol['id']}")
    assert (assigned["agent_id"], assigned["state"]) == (ann.id, "assigned")
    assert _same_page(page)
    assert errors == []


def test_W6_from_the_queue_every_waiting_thread_is_read_or_closed(browser: Browser, site: Site) -> None:
    """W6: from the queue a supervisor reads a waiting thread (read only, live) and closes
    one after a confirm (Cancel first: nothing happens), a thread on its way to its own
    agent (R4) too; the panel lists the next five and, on request, every waiting thread,
    live, then five again (W5). The focus stays in the list, also when a thread leaves it
    while one of its dialogs is open. An admin's queue only reads."""
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    # Alice is Ann's client (R4): her next thread waits for Ann, who is not ready.
    site.api(site.admin, "PATCH", "/settings", {"affinity_wait": 3600})
    site.ready(ann)
    first = site.client_writes("alice", "Hello, my parcel has not arrived yet.")
    site.api(ann, "POST", f"/threads/{first['id']}/messages", {"text": "It is on its way."})
    site.api(ann, "POST", f"/threads/{first['id']}/close")
    site.api(ann, "PUT", "/me/status", {"state": "not_ready"})  # nobody is active: all wait (R6)
    alice = site.client_writes("alice", "It has still not arrived.")
    names = ("bruno", "carol", "dora", "emil", "fiona", "gus")
    waiting = {name: site.client_writes(name, f"Hello, this is {name}.") for name in names}
    page = sign_in(browser, site, supervisor)
    live(page)
    errors = _mark_page(page)
    items = page.locator("#queue-items li")

    # The general queue's six and, after them, alice's thread for Ann: five are listed.
    expect(page.locator("#queue-length")).to_have_text("6")
    expect(items).to_have_count(5)
    expect(items.first).to_contain_text("bruno")
    page.get_by_role("button", name="Show all 7").click()
    expect(items).to_have_count(7)
    expect(items.last).to_contain_text("alice")
    expect(items.last).to_contain_text("waits for Ann Agent")
    fewer = page.get_by_role("button", name="Show fewer")
    expect(fewer).to_be_focused()
    # Live: a new thread joins the list (ahead of alice's: the general queue comes first).
    site.client_writes("hugo", "Anyone there?")
    expect(items).to_have_count(8)
    expect(items.nth(6)).to_contain_text("hugo")

    # Close alice's thread, on its way to Ann: the confirm says so.
    items.last.get_by_role("button", name="Close…").click()
    confirm = page.get_by_role("alertdialog", name="Close this thread?")
    expect(confirm).to_contain_text(
        f"Thread #{alice['id']} with alice, waiting for Ann Agent (the client's own agent), ends for good"
    )
    confirm.get_by_role("button", name="Close thread").click()
    expect(confirm).to_be_hidden()
    expect(items).to_have_count(7)
    expect(items.filter(has_text="alice")).to_have_count(0)
    expect(items.last.get_by_role("button", name="Close…")).to_be_focused()  # hugo's, now last
    assert site.api(site.admin, "GET", f"/threads/{alice['id']}")["state"] == "closed"
    fewer.click()
    expect(items).to_have_count(5)
    expect(page.get_by_role("button", name="Show all 7")).to_be_focused()

    # View: read only (no answer box, nothing to act with), and live.
    carol = items.filter(has_text="carol")
    _view_read_only(
        page,
        site,
        carol,
        waiting["carol"],
        ["In the queue", "Nobody holds it yet"],
        ["Hello, this is carol."],
        then="It is about order 1234.",
    )

    # Close bruno's, the first: Cancel changes nothing; then closed, and the next moves up.
    bruno = items.filter(has_text="bruno")
    bruno.get_by_role("button", name="Close…").click()
    expect(confirm).to_contain_text(f"Thread #{waiting['bruno']['id']} with bruno, waiting in the queue, ends for good")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(bruno.get_by_role("button", name="Close…")).to_be_focused()
    expect(page.locator("#queue-length")).to_have_text("7")
    bruno.get_by_role("button", name="Close…").click()
    confirm.get_by_role("button", name="Close thread").click()
    expect(page.locator("#queue-length")).to_have_text("6")
    expect(items).to_have_count(5)
    expect(items.first).to_contain_text("carol")
    expect(items.first.get_by_role("button", name="Close…")).to_be_focused()
    expect(page.get_by_role("button", name="Show all 6")).to_be_visible()
    assert site.api(site.admin, "GET", f"/threads/{waiting['bruno']['id']}")["state"] == "closed"

    # Assign to…, and carol's thread leaves the queue while the picker is open: closed, the
    # focus goes to the same button on the thread now in its place.
    items.first.get_by_role("button", name="Assign to…").click()
    picker = page.get_by_role("dialog", name="Assign thread")
    expect(picker).to_be_visible()
    site.api(supervisor, "POST", f"/threads/{waiting['carol']['id']}/close")
    expect(items.first).to_contain_text("dora")
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(items.first.get_by_role("button", name="Assign to…")).to_be_focused()
    assert _same_page(page)
    assert errors == []
    page.context.close()

    # An admin reads the queue's threads but does not close or assign them (API.md).
    page = sign_in(browser, site, site.admin)
    page.goto("/supervisor")
    live(page)
    items = page.locator("#queue-items li")
    expect(items).to_have_count(5)
    expect(page.locator("#queue-items").get_by_role("button", name="View")).to_have_count(5)
    expect(page.locator("#queue-items").get_by_role("button", name="Close…")).to_have_count(0)
    expect(page.locator("#queue-items").get_by_role("button", name="Assign to…")).to_have_count(0)
    page.context.close()
