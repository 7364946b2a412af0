"""The reports page (P1, P2) in Chromium: the charts render in colours and patterns told
apart, the workload table fits a 1440 px screen, the status log lists newest first and
filters by agent and status, and the CSVs download."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Person, Site, screenshot, sign_in

REASONS = ("short_break", "training", "meeting", "technical_break", "away", "lunch")
# Colours closer than this (RGB distance, 0-441) read as one: the five purples this page
# once drew were 30 to 60 apart.
DISTINCT = 64


def a_day_of_breaks(site: Site, ann: Person, bob: Person) -> None:
    """Ann works, goes through every built-in reason, and ends on lunch; Bob serves only
    his own clients a while, finishes a thread before his lunch (S3), then is not ready."""
    for agent in (ann, bob):
        site.ready(agent)
    for i in range(4):
        thread = site.client_writes(f"client-{i}", "hello")
        holder = ann if thread["agent_id"] == ann.id else bob
        site.api(holder, "POST", f"/threads/{thread['id']}/messages", {"text": "hi"})
        site.api(holder, "POST", f"/threads/{thread['id']}/close")
    site.api(bob, "PUT", "/me/status", {"state": "active_own_clients"})
    time.sleep(1.2)  # a little time in each status, so that the bars have length
    site.api(bob, "PUT", "/me/status", {"state": "active"})
    site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": "meeting"})  # the next thread is Bob's
    held = site.client_writes("client-held", "one more")
    assert held["agent_id"] == bob.id, held
    site.api(bob, "POST", f"/threads/{held['id']}/messages", {"text": "on it"})
    site.api(bob, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"})  # S3: finishing first
    for reason in REASONS:
        site.api(ann, "PUT", "/me/status", {"state": "inactive", "reason": reason})
        time.sleep(0.2)
    site.api(bob, "POST", f"/threads/{held['id']}/close")  # on to lunch
    site.api(bob, "PUT", "/me/status", {"state": "not_ready"})
    time.sleep(1.2)


def rgb(css: str) -> tuple[int, ...]:
    found = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", css)
    assert found, css
    return tuple(int(part) for part in found.groups())


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG's contrast ratio of two sRGB colours."""

    def luminance(colour: tuple[int, ...]) -> float:
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in colour)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def reason_looks(page: Page) -> dict[str, dict[str, Any]]:
    """Each reason's segment in the time chart: its fill colour and its pattern."""
    looks: dict[str, dict[str, Any]] = page.locator("#time-chart").evaluate(
        """chart => Object.fromEntries([...chart.querySelectorAll(".rp-seg[data-key^='inactive:']")].map(seg => [
            seg.dataset.key,
            {fill: getComputedStyle(seg.querySelector(".rp-fill")).fill,
             pattern: seg.querySelector(".rp-pattern")?.getAttribute("fill") ?? null},
        ]))"""
    )
    return looks


def right_edges(page: Page) -> dict[str, float]:
    """How wide the page and the workload's box are, and where its rightmost cell ends."""
    edges: dict[str, float] = page.locator("#workload").evaluate(
        """table => {
            const box = table.parentElement;
            const cells = [...table.querySelectorAll("thead th, tbody tr:first-child > *")];
            return {
                page: document.documentElement.scrollWidth,
                box_scroll: box.scrollWidth,
                box_client: box.clientWidth,
                cells: Math.max(...cells.map(cell => cell.getBoundingClientRect().right)),
                columns: table.querySelectorAll("tbody tr:first-child > *").length,
            };
        }"""
    )
    return edges


def test_p1_p2_charts_table_log_filters_and_csvs(browser: Browser, site: Site, tmp_path: Path) -> None:
    supervisor = site.person("supervisor", "Sam Super")
    ann = site.person("agent", "Ann Agent")
    bob = site.person("agent", "Bob Agent")
    a_day_of_breaks(site, ann, bob)

    page = sign_in(browser, site, supervisor, width=1440, height=900)
    page.goto("/reports")
    expect(page.locator("#workload tbody tr")).to_have_count(2)
    expect(page.locator("#workload tbody")).to_contain_text("Ann Agent")
    expect(page.locator("#workload tfoot")).to_contain_text("Team support")
    expect(page.locator("#time-chart svg rect").first).to_be_visible()
    expect(page.locator("#occupancy-chart svg")).to_contain_text("%")
    expect(page.locator("#status-log tbody")).to_contain_text("system: login restore")
    screenshot(page, "reports")

    # P2: the six reasons in colours told apart, each with its own pattern, and named.
    looks = reason_looks(page)
    assert set(looks) == {f"inactive:{r}" for r in REASONS}, looks
    for (one, a), (other, b) in itertools.combinations(looks.items(), 2):
        assert math.dist(rgb(a["fill"]), rgb(b["fill"])) >= DISTINCT, (one, a, other, b)
    panel = rgb(
        page.locator("#time-chart").locator("xpath=..").evaluate("card => getComputedStyle(card).backgroundColor")
    )
    for key, look in looks.items():
        assert contrast(rgb(look["fill"]), panel) >= 3, (key, look)  # WCAG 1.4.11, graphics
    patterns = [look["pattern"] for look in looks.values()]
    assert all(patterns) and len(set(patterns)) == len(patterns), patterns
    for key in looks:
        item = page.locator(f'#legend li[data-key="{key}"]')
        expect(item.locator(".swatch svg rect")).to_have_attribute("fill", looks[key]["pattern"])
    expect(page.locator("#legend")).to_contain_text("Lunch break")
    expect(page.locator("#legend")).to_contain_text("Technical break")

    # P2: at 1440 x 900 every column of the workload is on screen, with nothing to scroll;
    # the states and six reasons make 11 columns of time, then 8 more.
    edges = right_edges(page)
    assert edges["columns"] == 1 + 11 + 8, edges
    assert edges["cells"] <= 1440 and edges["box_scroll"] <= edges["box_client"] and edges["page"] <= 1440, edges
    # On a phone the table scrolls inside its box, the page never; the names stay in view.
    page.set_viewport_size({"width": 390, "height": 800})
    edges = right_edges(page)
    assert edges["page"] <= 390 and edges["box_scroll"] > edges["box_client"], edges
    box = page.locator("#workload").locator("xpath=..")
    box.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    name, frame = page.locator("#workload tbody .rp-who").first.bounding_box(), box.bounding_box()
    assert name and frame and abs(name["x"] - frame["x"]) < 1, (name, frame)
    page.set_viewport_size({"width": 1440, "height": 900})

    # P1: newest first, as the API lists them; then by agent, by status, and both.
    def shown(**query: str) -> None:
        log = site.api(supervisor, "GET", f"/reports/status-log?{urlencode(query)}")
        assert log["items"], query
        rows = page.locator("#status-log tbody tr")
        expect(rows.locator("td:nth-child(2)")).to_have_text([e["name"] for e in log["items"]])
        expect(rows.locator("td:nth-child(4)")).to_have_text([e["to"]["label"] for e in log["items"]])
        times = rows.locator("time").evaluate_all("times => times.map(t => Date.parse(t.dateTime))")
        assert times == sorted(times, reverse=True), times

    shown()
    page.get_by_label("Agent", exact=True).select_option(label="Bob Agent")
    shown(agent_id=str(bob.id))
    page.get_by_label("Changed to").select_option(label="Lunch break")
    shown(agent_id=str(bob.id), status="inactive:lunch")
    page.get_by_label("Agent", exact=True).select_option(label="All agents")
    shown(status="inactive:lunch")
    expect(page.locator("#status-log tbody td:nth-child(4)")).to_have_text(["Lunch break"] * 2)

    # The CSVs: the status log's with the log's filters.
    for link, header, names in (
        ("Workload (CSV)", "agent_id,username,name,team", {"Ann Agent", "Bob Agent"}),
        ("Status log (CSV)", "id,at,agent_id", {"Ann Agent", "Bob Agent"}),
    ):
        with page.expect_download() as pending:
            page.get_by_role("link", name=link).click()
        saved = tmp_path / pending.value.suggested_filename
        pending.value.save_as(saved)
        content = saved.read_text()
        assert content.startswith(header), content[:80]
        assert all(name in content for name in names), content
    assert [row["to_label"] for row in csv.DictReader(io.StringIO(content))] == ["Lunch break"] * 2, content
