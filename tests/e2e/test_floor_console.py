"""The floor at a glance (W5) on the supervisor page and the wallboard: the strip's tiles
count what `GET /agents?status=` lists and each is the filter for it; the widget sorts,
searches, puts pending requests first, groups by team and moves by the arrow keys; rows
show overdue (S10), over capacity and the "continue working?" countdown (S6); the
wallboard shows what `GET /floor` answers. One site, walked in steps; and a break that
runs past its limit while the page is open."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Person, Site, live, screenshot, sign_in


def _row(page: Page, agent: Person) -> Locator:
    return page.locator(f'#agents tbody tr[data-agent-id="{agent.id}"]')


def _tile(page: Page, key: str) -> Locator:
    return page.locator(f'#tiles [data-key="{key}"]')


def _tiles_are_the_filters(page: Page, site: Site, who: Person) -> dict[str, int]:
    """W5: every tile's count is the length of `GET /agents?status=<its filter>` for the
    page's scope (all of them for "All"). Answers the counts by tile key."""
    keys = page.locator("#tiles [data-key]").evaluate_all("(els) => els.map((e) => [e.dataset.key, e.dataset.param])")
    assert len(keys) > 10, keys
    counts = {}
    for key, param in keys:
        listed = site.api(who, "GET", f"/agents?status={param}" if param else "/agents")
        expect(_tile(page, key).locator(".tile-count")).to_have_text(str(len(listed)))
        counts[key] = len(listed)
    return counts


def _floor_key(key: str) -> str | None:
    """A tile's key as /floor's counts write it (None: "All", which /floor does not count)."""
    if key == "all":
        return None
    if key.startswith("state:"):
        return key.split(":", 1)[1]
    if key.startswith("reason:"):
        return f"inactive:{key.split(':', 1)[1]}"
    return key


_STATES = ("offline", "not_ready", "active", "active_own_clients", "finishing", "inactive", "kicked_out")


def _wallboard_shows_the_floor(page: Page, site: Site, who: Person, query: str = "") -> dict[str, Any]:
    """The wallboard's tiles are /floor's counts (all: every state's together), and its
    figures /floor's queue and today."""
    floor: dict[str, Any] = site.api(who, "GET", f"/floor{query}")
    counts = floor["counts"]
    for key in page.locator("#tiles [data-key]").evaluate_all("(els) => els.map((e) => e.dataset.key)"):
        counted = _floor_key(key)
        want = sum(counts[state] for state in _STATES) if counted is None else counts[counted]
        expect(_tile(page, key).locator(".tile-count")).to_have_text(str(want))

    def figure(name: str) -> Locator:
        return page.locator(f'[data-figure="{name}"]')

    expect(figure("queue-length")).to_have_text(str(floor["queue"]["length"]))
    expect(figure("received")).to_have_text(str(floor["today"]["received"]))
    expect(figure("answered")).to_have_text(str(floor["today"]["answered"]))
    level = floor["today"]["service_level"]
    expect(figure("service-level")).to_have_text("–" if level is None else f"{round(level * 1000) / 10:g}%")
    expect(figure("routing")).to_have_attribute("data-routing", floor["queue"]["routing"])
    return floor


def test_W5_S10_S6_the_strip_the_widget_and_the_wallboard(browser: Browser, site: Site) -> None:
    """W5: the tiles count as the API's filters do, through status changes, a custom
    reason and an overdue agent (S10), and pressing one filters the rows; the widget sorts,
    searches, puts pending requests first, groups by team (admin), moves by the arrow keys
    and remembers its view; rows mark overdue, over capacity and the S6 countdown; the
    wallboard shows the figures /floor answers, for a supervisor's team and an admin's."""
    admin = site.admin
    site.api(admin, "POST", "/reasons", {"code": "email_backlog", "label": "Email backlog"})
    site.api(admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching", "requires_approval": True})
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Brown")
    cat = site.person("agent", "Cat Cole")
    dan = site.person("agent", "Dan Dale")
    eve = site.person("agent", "Eve Evans")
    site.person("agent", "Finn Ford")  # offline: never logged in
    olga = site.person("agent", "Olga Other", team="other")
    site.ready(ann)  # alone ready: both threads go to Ann
    site.client_writes("alice", "Hello, my parcel has not arrived yet.")
    site.client_writes("bruno", "Can I change the delivery address?")
    site.ready(bob)
    site.ready(cat)
    site.api(dan, "POST", "/me/login")
    site.api(dan, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    site.api(eve, "POST", "/me/login")
    site.api(eve, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
    site.ready(olga)
    # S10: lunch is limited to a minute, and Dan has been at lunch for two (see the helper).
    site.api(admin, "PATCH", "/reasons/lunch", {"max_minutes": 1})
    site.backdate_status(dan, 120)

    page = sign_in(browser, site, supervisor)
    live(page)
    rows = page.locator("#agents tbody tr[data-agent-id]")
    expect(rows).to_have_count(6)
    expect(_row(page, dan).locator(".sv-overdue")).to_contain_text("overdue by")
    counts = _tiles_are_the_filters(page, site, supervisor)
    assert (counts["overdue"], counts["reason:lunch"], counts["all"]) == (1, 1, 6)
    expect(_tile(page, "overdue")).to_have_class("tile tile-alert")

    # A few changes, a custom reason among them: the tiles follow, live.
    site.api(cat, "PUT", "/me/status", {"state": "inactive", "reason": "email_backlog"})
    site.api(bob, "PUT", "/me/status", {"state": "not_ready"})
    expect(_row(page, cat).locator(".status")).to_have_text("Email backlog")
    expect(_row(page, bob).locator(".status")).to_have_text("Not ready")
    counts = _tiles_are_the_filters(page, site, supervisor)  # Eve is not ready too
    assert (counts["reason:email_backlog"], counts["state:not_ready"], counts["active_free"]) == (1, 2, 0)

    # S6: Ann is asked to continue, and her row counts the time left down; over capacity.
    site.api(admin, "PATCH", "/settings", {"response_timeout": 1, "prompt_timeout": 3600})
    site.api(admin, "PATCH", f"/agents/{ann.id}", {"capacity": 1})
    countdown = _row(page, ann).locator(".sv-countdown")
    expect(countdown).to_contain_text("left", timeout=15_000)
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)
    expect(_row(page, ann).locator(".sv-over")).to_have_text("over capacity")
    expect(_row(page, ann).locator("td").nth(2)).to_contain_text("2 / 1")

    # W5: a tile is the filter: pressed, it narrows the rows; pressed again, all come back.
    backlog = _tile(page, "reason:email_backlog")
    backlog.click()
    expect(backlog).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#agents tbody tr[data-agent-id]:visible")).to_have_count(1)
    expect(_row(page, cat)).to_be_visible()
    expect(page.get_by_label("Show")).to_have_value("reason:email_backlog")
    assert "status=email_backlog" in page.url
    backlog.press("Enter")
    expect(backlog).to_have_attribute("aria-pressed", "false")
    expect(_tile(page, "all")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#agents tbody tr[data-agent-id]:visible")).to_have_count(6)
    _tile(page, "overdue").click()
    expect(page.locator("#agents tbody tr[data-agent-id]:visible")).to_have_count(1)
    expect(_row(page, dan)).to_be_visible()
    _tile(page, "all").click()

    # Sort by a column (twice: descending), search as you type, pending requests first.
    threads = page.locator('#agents th[data-sort="threads"]')
    threads.get_by_role("button").click()
    expect(threads).to_have_attribute("aria-sort", "ascending")
    expect(page.locator('#agents th[data-sort="name"]')).not_to_have_attribute("aria-sort", "ascending")
    expect(rows.last).to_have_attribute("data-agent-id", str(ann.id))
    threads.get_by_role("button").press("Enter")
    expect(threads).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_have_attribute("data-agent-id", str(ann.id))
    page.get_by_label("Pending requests first").check()
    expect(rows.first).to_have_attribute("data-agent-id", str(eve.id))
    page.get_by_label("Search").fill("bo")
    expect(page.locator("#agents tbody tr[data-agent-id]:visible")).to_have_count(1)
    expect(_row(page, bob)).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Showing 1 of 6")
    # The view comes back after a reload: the search in the address, the rest remembered.
    page.reload()
    live(page)
    expect(page.get_by_label("Search")).to_have_value("bo")
    expect(page.get_by_label("Pending requests first")).to_be_checked()
    expect(threads).to_have_attribute("aria-sort", "descending")
    page.get_by_label("Search").fill("")
    expect(page.locator("#agents tbody tr[data-agent-id]:visible")).to_have_count(6)
    expect(rows.first).to_have_attribute("data-agent-id", str(eve.id))

    # The arrow keys move between rows (one of them in the tab order); Enter opens the card.
    expect(page.locator("#agents tbody tr[tabindex='0']")).to_have_count(1)
    rows.first.focus()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(rows.last).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(rows.nth(4)).to_be_focused()
    page.keyboard.press("Home")
    expect(rows.first).to_be_focused()
    expect(page.locator("#agents tbody tr[tabindex='0']")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator("#card-name")).to_have_text("Eve Evans")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(rows.first).to_be_focused()

    # The wallboard, for the supervisor's team: the figures /floor answers, and who needs
    # attention (a pending request, overdue, prompted).
    page.get_by_role("link", name="Wallboard").click()
    expect(page).to_have_url(f"{site.base}/wallboard")
    live(page)
    expect(page.locator("#attention li")).to_have_count(3)
    for person in (ann, dan, eve):
        expect(page.locator(f'#attention li[data-agent-id="{person.id}"]')).to_be_visible()
    _wallboard_shows_the_floor(page, site, supervisor)
    expect(page.locator("#main button, #main select, #main input")).to_have_count(0)  # no controls
    site.api(bob, "PUT", "/me/status", {"state": "active"})  # live: one more free agent
    expect(_tile(page, "active_free").locator(".tile-count")).to_have_text("1")
    screenshot(page, "wallboard")
    page.context.close()

    # An admin: group by team on the widget; the wallboard of one team with ?team=.
    page = sign_in(browser, site, admin)
    page.goto("/supervisor")
    live(page)
    expect(page.locator("#agents tbody tr[data-agent-id]")).to_have_count(7)
    page.get_by_label("Group by team").check()
    groups = page.locator("#agents tbody tr.sv-group")
    expect(groups).to_have_count(2)
    expect(groups.first).to_have_text("other · 1 agent")
    expect(page.locator("#agents tbody tr").nth(1)).to_have_attribute("data-agent-id", str(olga.id))
    page.goto("/wallboard?team=other")
    live(page)
    expect(_tile(page, "all").locator(".tile-count")).to_have_text("1")
    _wallboard_shows_the_floor(page, site, admin, "?team=other")
    page.context.close()


def test_S10_W5_a_break_turns_overdue_while_the_supervisor_page_is_open(browser: Browser, site: Site) -> None:
    """S10: an agent whose break is within its limit when the supervisor's page opens is
    marked overdue on it the moment the limit passes, without a reload: the row's mark
    ("overdue by …"), and the strip's Overdue tile (W5) counts them and turns to an alert."""
    admin = site.admin
    supervisor = site.person("supervisor", "Sam Super")
    dan = site.person("agent", "Dan Dale")
    bob = site.person("agent", "Bob Brown")
    site.ready(bob)
    site.api(dan, "POST", "/me/login")
    site.api(dan, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    site.api(admin, "PATCH", "/reasons/lunch", {"max_minutes": 1})
    # 35 s of his minute gone (see the helper): overdue 25 s from now, with the page open.
    site.backdate_status(dan, 35)
    at = site.api(supervisor, "GET", f"/agents/{dan.id}")
    assert (at["overdue"], at["overdue_at"] is not None) == (False, True)

    page = sign_in(browser, site, supervisor)
    live(page)
    page.evaluate("window.__stillTheSamePage = true")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    row, tile = _row(page, dan), _tile(page, "overdue")
    expect(row.locator(".status")).to_have_text("Lunch break")
    expect(row).to_have_attribute("data-overdue", "false")
    expect(row.locator(".sv-overdue")).to_have_count(0)
    expect(tile.locator(".tile-count")).to_have_text("0")
    expect(tile).not_to_have_class("tile tile-alert")

    expect(row.locator(".sv-overdue")).to_contain_text("overdue by", timeout=40_000)
    expect(row).to_have_attribute("data-overdue", "true")
    expect(tile.locator(".tile-count")).to_have_text("1")
    expect(tile).to_have_class("tile tile-alert")
    expect(_row(page, bob).locator(".sv-overdue")).to_have_count(0)
    assert page.evaluate("window.__stillTheSamePage === true")  # no reload
    assert errors == []
