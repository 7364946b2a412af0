"""S8 and S9 as people see them: an agent's page closed, and an agent signing out."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Person, Site, sign_in

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
