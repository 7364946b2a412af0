"""S8 and S9 as people see them: an agent's page closed, and an agent signing out; W4:
whose presence a page is sent."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.e2e.conftest import Person, Site, live, sign_in

GRACE = 4  # seconds: short, so the test waits little; the rule is the same at 60


def _row_status(page: Page, agent: Person) -> str:
    return f'#agents tbody tr[data-agent-id="{agent.id}"] .status'


def _mark(page: Page) -> None:
    """A mark that a reload would wipe: the checks below prove the page updated live."""
    page.evaluate("window.__noReload = true")


def _not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true")


def test_s8_a_closed_agent_page_shows_away_after_the_grace_and_back_on_return(browser: Browser, site: Site) -> None:
    site.api(site.admin, "PATCH", "/settings", {"disconnect_grace": GRACE})
    sam = site.person("supervisor", "Sam Supervisor")
    ann = site.person("agent", "Ann Agent")
    watching = sign_in(browser, site, sam)
    _mark(watching)

    working = sign_in(browser, site, ann)  # opening the workspace is the login (S5)
    expect(working.locator("#my-status")).to_have_text("Not ready")
    site.api(ann, "PUT", "/me/status", {"state": "active"})
    expect(watching.locator(_row_status(watching, ann))).to_have_text("Active (free)")

    working.context.close()  # the tab is closed, the laptop sleeps: no stream any more
    lost = watching.locator(f'#agents tbody tr[data-agent-id="{ann.id}"] .sv-disconnected')
    expect(lost).to_have_text("connection lost")  # during the grace the status stays
    expect(watching.locator(_row_status(watching, ann))).to_have_text("Away", timeout=GRACE * 1000 + 10_000)
    expect(lost).to_have_count(0)
    row = next(a for a in site.api(sam, "GET", "/agents") if a["id"] == ann.id)
    assert row["status"]["set_by"] == {"kind": "system", "id": None, "why": "disconnected"}
    assert row["connected"] is False

    # Back within the return window, nobody having changed it: the status from before.
    back = sign_in(browser, site, ann)
    expect(back.locator("#my-status")).to_have_text("Active (free)")
    expect(watching.locator(_row_status(watching, ann))).to_have_text("Active (free)")
    _not_reloaded(watching)


def test_s9_an_agent_who_signs_out_is_offline_for_the_supervisor(browser: Browser, site: Site) -> None:
    sam = site.person("supervisor", "Sam Supervisor")
    ann = site.person("agent", "Ann Agent")
    watching = sign_in(browser, site, sam)
    _mark(watching)
    working = sign_in(browser, site, ann)
    site.api(ann, "PUT", "/me/status", {"state": "active"})
    expect(watching.locator(_row_status(watching, ann))).to_have_text("Active (free)")

    working.get_by_role("button", name="Sign out").click()
    working.wait_for_url("**/login*")
    expect(watching.locator(_row_status(watching, ann))).to_have_text("Offline")
    row = next(a for a in site.api(sam, "GET", "/agents") if a["id"] == ann.id)
    assert row["status"]["set_by"]["kind"] == "agent"  # her own logout, not the system's
    _not_reloaded(watching)


def _recording(page: Page) -> list[dict[str, Any]]:
    """Reloads the page with every frame its event stream receives recorded, parsed: on
    every socket it opens (a reconnect's too)."""
    frames: list[dict[str, Any]] = []

    def record(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", record)
    page.reload()
    live(page)
    return frames


def _subscribed(page: Page, frames: list[dict[str, Any]], act: Callable[[], None]) -> None:
    """Does `act`, then waits until the stream has answered one more `stream.subscribed`."""
    before = _named(frames, "stream.subscribed")
    act()
    deadline = time.monotonic() + 20
    while _named(frames, "stream.subscribed") <= before:
        assert time.monotonic() < deadline, f"no stream.subscribed after the act; frames: {[f['name'] for f in frames]}"
        page.wait_for_timeout(50)


def _named(frames: list[dict[str, Any]], name: str) -> int:
    return sum(1 for f in frames if f["name"] == name)


def _about(frames: list[dict[str, Any]], agent: Person) -> list[dict[str, Any]]:
    """The frames that tell this agent's status: their own event, or a coalesced change."""
    told = [f for f in frames if f["name"] == "agent.status_changed" and f["data"]["agent_id"] == agent.id]
    coalesced = [f for f in frames if f["name"] == "presence.changed"]
    return told + [f for f in coalesced if any(c["agent_id"] == agent.id for c in f["data"]["changes"])]


def test_w1_w4_a_page_receives_what_it_shows_its_team_and_colleagues_presence_while_picking(
    browser: Browser, site: Site
) -> None:
    """A supervisor's page is not sent another team's status changes (W1: it shows its
    team); an agent's page gets colleagues' presence only while its transfer picker is
    open, and then live (W4): another team's colleague goes to lunch under its eyes."""
    sam = site.person("supervisor", "Sam Supervisor", team="desk")
    ann = site.person("agent", "Ann Agent", team="desk")
    olga = site.person("agent", "Olga Other", team="phones")
    site.api(olga, "PUT", "/me/status", {"state": "active"})  # logs in, then active
    watching = sign_in(browser, site, sam)
    sam_frames = _recording(watching)
    working = sign_in(browser, site, ann)
    ann_frames = _recording(working)
    expect(working.locator("#my-status")).to_have_text("Not ready")

    site.api(olga, "PUT", "/me/status", {"state": "not_ready"})
    site.api(ann, "PUT", "/me/status", {"state": "active"})  # after Olga's change, in the stream's order
    expect(watching.locator(_row_status(watching, ann))).to_have_text("Active (free)")
    expect(working.locator("#my-status")).to_have_text("Active (free)")
    assert _about(sam_frames, olga) == [] and _about(ann_frames, olga) == []

    site.client_writes("alice", "Hello, my parcel never arrived.")
    alice = working.locator(".thread", has_text="alice")
    expect(alice.get_by_role("button", name="Transfer…")).to_be_enabled()  # before the frame's own wait starts
    _subscribed(working, ann_frames, alice.get_by_role("button", name="Transfer…").click)  # the picker: presence on
    dialog = working.get_by_role("dialog", name="Transfer thread")
    olga_there = dialog.locator(".colleague", has_text="Olga Other")
    expect(olga_there.locator(".colleague-status")).to_have_text("Not ready")
    site.api(olga, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    expect(olga_there.locator(".colleague-status")).to_have_text("Lunch break")
    expect(olga_there.locator(".presence")).to_have_text("Away")
    [told] = _about(ann_frames, olga)
    assert told["name"] == "presence.changed"

    # The picker closed, Olga's comings and goings are the stream's no more.
    _subscribed(working, ann_frames, dialog.get_by_role("button", name="Cancel", exact=True).click)
    expect(dialog).to_be_hidden()
    site.api(olga, "PUT", "/me/status", {"state": "active"})
    site.api(ann, "PUT", "/me/status", {"state": "active_own_clients"})
    expect(working.locator("#my-status")).to_have_text(re.compile("doesn't receive"))
    expect(watching.locator(_row_status(watching, ann))).to_contain_text("doesn't receive")
    assert _about(ann_frames, olga) == [told] and _about(sam_frames, olga) == []
