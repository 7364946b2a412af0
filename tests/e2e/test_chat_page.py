"""C1 as people use it: two agents and a supervisor, each in a browser of their own. A
message appears live on the other side; the presence beside a name changes live when
that colleague goes to lunch; the unread count goes up and back to zero once read; the
transfer picker's "ask first" and the widget's "message this agent" open the chat; a
consultation's thread opens only for who may see it; text stays text."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from onduty.domain.chat import Room
from tests.e2e.conftest import Site, live, screenshot, sign_in

ROOM_SUPPORT = Room("support").id


def _open_chat(page: Page) -> None:
    page.locator("#chat-toggle").click()
    expect(page.locator("#chat")).to_be_visible()


def _unread(page: Page) -> str:
    return "#chat-toggle .chat-unread"


def _mark(page: Page) -> None:
    """A mark a reload would wipe: what follows happened live."""
    page.evaluate("window.__noReload = true")


def test_c1_two_agents_and_a_supervisor_chat_live_with_presence_and_unread_counts(browser: Browser, site: Site) -> None:
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Agent")
    sam = site.person("supervisor", "Sam Supervisor")
    ann_page, bob_page, sam_page = (sign_in(browser, site, who) for who in (ann, bob, sam))
    for page in (ann_page, bob_page, sam_page):
        live(page)
        _mark(page)

    # Ann finds Bob and writes to him; his page counts it unread, live.
    _open_chat(ann_page)
    ann_page.locator("#chat-find").fill("bob")
    ann_page.locator("#chat-people .chat-person", has_text="Bob Agent").click()
    expect(ann_page.locator("#chat-with")).to_have_text("Bob Agent")
    markup = "<b>can you take billing?</b>"
    ann_page.locator("#chat-text").fill(markup)
    ann_page.locator("#chat-text").press("Enter")
    expect(ann_page.locator("#chat-messages .chat-message.mine .text")).to_have_text(markup)  # as text
    expect(bob_page.locator(_unread(bob_page))).to_have_text("1")
    expect(bob_page.locator("#chat-toggle")).to_have_attribute("aria-label", "Chat, 1 unread")

    # Bob opens the conversation: the message is there, and the count goes back to zero.
    _open_chat(bob_page)
    bob_page.locator("#chat-list .chat-item", has_text="Ann Agent").click()
    expect(bob_page.locator("#chat-messages .chat-message .text")).to_have_text(markup)
    expect(bob_page.locator(_unread(bob_page))).to_be_hidden()
    assert bob_page.locator("#chat-messages b").count() == 0  # never HTML

    # His answer appears on Ann's side live, read at once (her conversation is open).
    bob_page.locator("#chat-text").fill("yes, send it over")
    bob_page.locator("#chat-form button[type=submit]").click()
    expect(ann_page.locator("#chat-messages .chat-message:not(.mine) .text")).to_have_text("yes, send it over")
    expect(ann_page.locator(_unread(ann_page))).to_be_hidden()

    # The presence beside Ann's name on Bob's page changes live when she goes to lunch.
    ann_presence = bob_page.locator(f'#chat-members [data-presence-of="{ann.id}"]')
    expect(ann_presence).to_contain_text("Away")  # logged in, not ready: away
    site.api(ann, "PUT", "/me/status", {"state": "active"})
    expect(ann_presence).to_have_text("Online · Active (free)")
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    expect(ann_presence).to_have_text("Away · Lunch break")
    expect(bob_page.locator(f'#chat-members [data-presence-of="{ann.id}"]')).to_have_class("presence away")

    # The team's room: the supervisor writes; both agents count it until they read it.
    _open_chat(sam_page)
    sam_page.locator("#chat-list .chat-item", has_text="Team support").click()
    sam_page.locator("#chat-text").fill("Team meeting at 3")
    sam_page.locator("#chat-text").press("Enter")
    expect(ann_page.locator(_unread(ann_page))).to_have_text("1")  # her open conversation is another
    bob_page.locator("#chat-back").click()
    room = bob_page.locator("#chat-list .chat-item", has_text="Team support")
    expect(room.locator(".chat-unread")).to_have_text("1")
    room.click()
    expect(bob_page.locator("#chat-messages .text")).to_have_text("Team meeting at 3")
    expect(bob_page.locator(_unread(bob_page))).to_be_hidden()
    screenshot(bob_page, "chat")

    for page in (ann_page, bob_page, sam_page):
        assert page.evaluate("window.__noReload === true")  # everything above came live


def test_c1_ask_first_and_message_this_agent_open_the_chat_about_the_thread(browser: Browser, site: Site) -> None:
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Agent")
    sam = site.person("supervisor", "Sam Supervisor")
    site.ready(ann)
    thread = site.client_writes("client-7", "my invoice is wrong")
    assert thread["agent_id"] == ann.id
    bob_page = sign_in(browser, site, bob)  # signed in: a colleague the picker knows
    live(bob_page)

    # Ann asks Bob first, from the transfer picker: the chat opens about the thread.
    ann_page = sign_in(browser, site, ann)
    live(ann_page)
    card = ann_page.locator(f'article.thread[data-thread-id="{thread["id"]}"]')
    card.get_by_role("button", name="Transfer…").click()
    ann_page.locator("#colleague-list .colleague", has_text="Bob Agent").get_by_role(
        "button", name="Ask first: Bob Agent"
    ).click()
    expect(ann_page.locator("#transfer-dialog")).to_be_hidden()
    expect(ann_page.locator("#chat-with")).to_have_text("Bob Agent")
    expect(ann_page.locator("#chat-about")).to_contain_text(f"About thread #{thread['id']} with client-7")
    ann_page.locator("#chat-text").fill("do you know billing?")
    ann_page.locator("#chat-text").press("Enter")
    expect(ann_page.locator("#chat-about")).to_be_hidden()
    expect(ann_page.locator("#chat-messages .chat-pointer")).to_have_text(f"About thread #{thread['id']} with client-7")

    # Bob may not open Ann's thread: the pointer says so and nothing more.
    _open_chat(bob_page)
    bob_page.locator("#chat-list .chat-item", has_text="Ann Agent").click()
    expect(bob_page.locator("#chat-messages .chat-pointer")).to_have_text("About a thread you cannot open")
    expect(bob_page.locator("#chat-messages")).not_to_contain_text("client-7")

    # The supervisor messages Ann from her row, and may open the thread she pointed to.
    sam_page = sign_in(browser, site, sam)
    live(sam_page)
    site.api(ann, "POST", "/chat/messages", {"to_user_id": sam.id, "text": "see this one", "thread_id": thread["id"]})
    row = sam_page.locator(f'#agents tbody tr[data-agent-id="{ann.id}"]')
    row.get_by_role("button", name="Message Ann Agent").click()
    expect(sam_page.locator("#card")).to_be_hidden()  # the row's button is not the row's click
    expect(sam_page.locator("#chat-with")).to_have_text("Ann Agent")
    pointer = sam_page.locator("#chat-messages .chat-pointer button")
    expect(pointer).to_have_text(f"About thread #{thread['id']} with client-7")
    pointer.click()
    expect(sam_page.locator("#thread-view-title")).to_have_text(f"Thread #{thread['id']} with client-7")

    # An admin joins the team's room: found by the team's name, read, written in.
    site.api(sam, "POST", "/chat/messages", {"conversation_id": ROOM_SUPPORT, "text": "hello team"})
    admin_page = sign_in(browser, site, site.admin)
    admin_page.goto("/supervisor")  # an admin lands on the administration page
    live(admin_page)
    _open_chat(admin_page)
    admin_page.locator("#chat-find").fill("supp")
    admin_page.locator("#chat-people .chat-person", has_text="Team support").click()
    expect(admin_page.locator("#chat-messages .text")).to_have_text("hello team")
    admin_page.locator("#chat-text").fill("thanks, all")
    admin_page.locator("#chat-text").press("Enter")
    expect(admin_page.locator("#chat-list .chat-item", has_text="Team support")).to_have_count(1)  # joined
    expect(sam_page.locator(_unread(sam_page))).to_have_text("1")
