"""Browser tests: Debian's chromium, driven by Playwright, against a real `onduty serve`.

No browser is ever downloaded: Playwright launches /usr/bin/chromium
(ONDUTY_CHROMIUM to point elsewhere). Without it these tests skip with the
reason; under CI=true they fail instead (.ci/run installs chromium).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.serve_process import ServeProcess

CHROMIUM = os.environ.get("ONDUTY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"
# Flags for a closed network: no background calls home, no first-run screens.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    username: str
    password: str
    role: str
    token: str


class Site(ServeProcess):
    """A running `onduty serve` on a SQLite file, and people made through its API."""

    def __init__(self, workdir: Path, template: Path) -> None:
        """On a copy of `template` (the sqlite_template fixture): migrated already, so the
        server's start finds nothing to do, nor does the first admin's creation."""
        shutil.copy(template, workdir / "onduty.db")
        super().__init__(f"sqlite:///{workdir / 'onduty.db'}", workdir)
        created = self.add_user("root", "admin", password="root-password")
        self.admin = Person(created.id, "root", "root-password", "admin", created.token)
        self._count = 0

    def restart(self) -> None:
        self.stop()
        self.start()

    def backdate_status(self, agent: Person, seconds: float) -> None:
        """Moves the start of the agent's status back by `seconds`, through a restart: a
        break that has lasted longer than a test will wait (S10's overdue follows from the
        status's `since`, the limit and the clock at every start, docs/rules.md)."""
        self.stop()
        with sqlite3.connect(self.workdir / "onduty.db") as db:
            db.execute("UPDATE agents SET since = since - ? WHERE id = ?", (seconds, agent.id))
        self.start()

    def api(self, who: Person, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = httpx.request(
            method,
            f"{self.base}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {who.token}"},
            timeout=10,
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        else:
            assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def person(self, role: str, name: str, *, team: str | None = None, capacity: int | None = None) -> Person:
        self._count += 1
        username = name.lower().split()[0]
        password = f"{username}-password"
        body: dict[str, Any] = {"username": username, "role": role, "name": name, "password": password}
        if role in ("agent", "supervisor"):
            body["team"] = team or "support"
        if capacity is not None:
            body["capacity"] = capacity
        created = self.api(self.admin, "POST", "/users", body)
        return Person(created["id"], username, password, role, created["token"])

    def ready(self, agent: Person) -> None:
        self.api(agent, "POST", "/me/login")
        self.api(agent, "PUT", "/me/status", {"state": "active"})

    def client_writes(self, client_id: str, text: str) -> dict[str, Any]:
        integration = getattr(self, "_integration", None)
        if integration is None:
            integration = self.person("integration", "Webchat")
            self._integration = integration
        thread: dict[str, Any] = self.api(integration, "POST", "/threads", {"client_id": client_id, "text": text})
        return thread


@pytest.fixture(scope="package")  # closed before other folders' tests: Playwright's sync API holds an event loop
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"no chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{reason}; CI=true: the browser tests must run")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    running = Site(tmp_path, sqlite_template)
    running.start()
    yield running
    running.stop()


def sign_in(
    browser: Browser,
    site: Site,
    person: Person,
    *,
    width: int = 1280,
    height: int = 860,
    permissions: list[str] | None = None,
    init_script: str | None = None,
) -> Page:
    """A fresh browser context, signed in through the sign-in page. `permissions` are granted
    to the site as if the person had allowed them; `init_script` runs first in every page."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=site.base, permissions=permissions or []
    )
    if init_script is not None:
        context.add_init_script(init_script)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def live(page: Page, timeout_ms: float = 10_000) -> None:
    """Waits until the page's event stream is connected (events.js marks <body>). A locator,
    not wait_for_function: that one polls with eval, which the pages' policy refuses."""
    expect(page.locator("body")).to_have_attribute("data-connection", "live", timeout=timeout_ms)


def screenshot(page: Page, name: str) -> None:
    """A picture of the page. It refreshes the README's (docs/screenshots/) only when
    ONDUTY_SCREENSHOTS=1 (`make screenshots`), so a test run leaves the checkout clean."""
    png = page.screenshot(full_page=False)
    assert png.startswith(b"\x89PNG")
    if os.environ.get("ONDUTY_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(png)
