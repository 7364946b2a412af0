"""The reports page (P1, P2) in Chromium: the charts render and the CSVs download."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Site, screenshot, sign_in


def test_p2_charts_render_and_p1_p2_csvs_download(browser: Browser, site: Site, tmp_path: Path) -> None:
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Agent")
    for agent in (ann, bob):
        site.ready(agent)
    for i in range(4):
        thread = site.client_writes(f"client-{i}", "hello")
        holder = ann if thread["agent_id"] == ann.id else bob
        site.api(holder, "POST", f"/threads/{thread['id']}/messages", {"text": "hi"})
        site.api(holder, "POST", f"/threads/{thread['id']}/close")
    time.sleep(1.2)  # a little time in each status, so that the bars have length
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})
    site.api(bob, "PUT", "/me/status", {"state": "not_ready"})
    time.sleep(1.2)

    page = sign_in(browser, site, supervisor)
    page.goto("/reports")
    expect(page.locator("#workload tbody tr")).to_have_count(2)
    expect(page.locator("#workload tbody")).to_contain_text("Ann Agent")
    expect(page.locator("#workload tfoot")).to_contain_text("Team support")
    expect(page.locator("#time-chart svg rect").first).to_be_visible()
    assert page.locator("#time-chart svg rect").count() >= 4  # two agents, at least two statuses each
    expect(page.locator("#legend")).to_contain_text("Lunch break")
    expect(page.locator("#occupancy-chart svg")).to_contain_text("%")
    expect(page.locator("#status-log tbody")).to_contain_text("Lunch break")
    expect(page.locator("#status-log tbody")).to_contain_text("system: login restore")
    screenshot(page, "reports")

    for link, header in (("Workload (CSV)", "agent_id,username,name,team"), ("Status log (CSV)", "id,at,agent_id")):
        with page.expect_download() as pending:
            page.get_by_role("link", name=link).click()
        saved = tmp_path / pending.value.suggested_filename
        pending.value.save_as(saved)
        content = saved.read_text()
        assert content.startswith(header), content[:80]
        assert "Ann Agent" in content
