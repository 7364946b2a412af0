"""A log file is never a key to the service: no token or ticket ever reaches the log.

One real `onduty serve` (with its access log on) is used as people and programs
use it: tokens from the command line, from user creation and from signing in
with a password; API calls, one with a token put in its URL by mistake; event
streams opened with `?token=`, the Authorization header and tickets, also a
reused and an unknown ticket; every page loaded in Chromium, each opening its
stream as pages do. Then the server's whole output is read: not one of the
tokens and tickets handed out may be in it, nor anything shaped like one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Route
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import Person, Site, live, sign_in

TIMEOUT = 10.0
SHAPED_LIKE_A_SECRET = re.compile(r"\b(?:odt|odst)_[A-Za-z0-9_-]{8,}")
PAGES = {"agent": ["/agent"], "supervisor": ["/supervisor", "/wallboard", "/reports"], "admin": ["/admin"]}


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    running = Site(tmp_path, sqlite_template)
    running.options = ("--access-log",)  # the log that writes every URL, so it is tested too
    running.start()
    yield running
    running.stop()


def ready(socket: ClientConnection) -> None:
    while json.loads(socket.recv(timeout=TIMEOUT))["name"] != "stream.ready":
        pass


def stream_opens(site: Site, query: str, headers: dict[str, str] | None = None) -> None:
    with connect(f"ws://127.0.0.1:{site.port}/api/v1/events?{query}", additional_headers=headers) as socket:
        ready(socket)


def stream_refused(site: Site, query: str) -> str:
    with (
        connect(f"ws://127.0.0.1:{site.port}/api/v1/events?{query}") as socket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        socket.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    return closed.value.rcvd.reason


def ticket(site: Site, who: Person) -> str:
    issued: str = site.api(who, "POST", "/events/ticket")["ticket"]
    return issued


def test_no_token_or_ticket_ever_reaches_the_log(browser: Browser, site: Site) -> None:
    handed_out: set[str] = {site.admin.token}  # from `onduty users add`, by another process

    # Tokens: from the command line beside the server, from user creation, from signing in.
    cli = json.loads(site.onduty("users", "add", "carl", "--role", "agent", "--team", "support"))
    handed_out.add(cli["token"])
    supervisor = site.person("supervisor", "Sam Super")
    agent = site.person("agent", "Ann Agent")
    handed_out |= {supervisor.token, agent.token}
    signed_in = httpx.post(
        f"{site.base}/api/v1/auth/token", json={"username": agent.username, "password": agent.password}, timeout=10
    )
    assert signed_in.status_code == 200, signed_in.text
    handed_out.add(signed_in.json()["token"])

    # The API, as programs use it, with a token where it should not be, and a wrong one.
    site.ready(agent)
    site.api(supervisor, "GET", "/agents")
    misplaced = httpx.get(f"{site.base}/api/v1/me", params={"token": cli["token"]}, timeout=10)
    assert misplaced.status_code == 401
    wrong = httpx.get(f"{site.base}/api/v1/me", headers={"Authorization": "Bearer odt_made-up-token"}, timeout=10)
    assert wrong.status_code == 401

    # Streams: ?token=, the header, tickets (used once, reused, unknown), a wrong token.
    stream_opens(site, f"token={supervisor.token}")
    stream_opens(site, "after=0", {"Authorization": f"Bearer {cli['token']}"})
    used = ticket(site, agent)
    handed_out.add(used)
    stream_opens(site, f"ticket={used}&after=0")
    assert "used already" in stream_refused(site, f"ticket={used}")
    assert "unknown ticket" in stream_refused(site, "ticket=odst_made-up-ticket")
    stream_refused(site, "token=odt_made-up-token")
    unused = ticket(site, supervisor)  # never used: in no URL, but handed out all the same
    handed_out.add(unused)

    # Every page, signed in through the sign-in page; each page with a stream asks for a
    # ticket and opens its stream with it.
    tickets: list[str] = []

    def keep_ticket(route: Route) -> None:
        answer = route.fetch()
        tickets.append(answer.json()["ticket"])
        route.fulfill(response=answer)

    people = {"agent": agent, "supervisor": supervisor, "admin": site.admin}
    for role, paths in PAGES.items():
        page = sign_in(browser, site, people[role])
        live(page, TIMEOUT * 1000)
        page.context.route("**/api/v1/events/ticket", keep_ticket)
        for path in paths:
            asked = len(tickets)
            page.goto(path)
            if path != "/reports":  # the one page without a live stream
                live(page, TIMEOUT * 1000)
                assert len(tickets) == asked + 1, f"{path} opens its stream with a ticket"
        session: dict[str, Any] = json.loads(page.evaluate("localStorage.getItem('onduty.session')"))
        handed_out.add(session["token"])
        page.context.close()
    handed_out.update(tickets)

    site.stop()  # everything it had to say is written
    log = site.log.read_text()
    leaked = sorted(secret for secret in handed_out if secret in log)
    assert leaked == [], f"{len(leaked)} of {len(handed_out)} tokens and tickets are in {site.log}"
    assert SHAPED_LIKE_A_SECRET.findall(log) == []
    # ... and the log still says what happened, the credentials in URLs redacted.
    assert "/api/v1/events?ticket=[redacted]" in log
    assert "/api/v1/events?token=[redacted]" in log
    assert "/api/v1/me?token=[redacted]" in log
    assert "POST /api/v1/events/ticket" in log
    assert "GET /agent" in log
