"""The pages open the event stream with a single-use ticket, asked for at each (re)connect
(static/js/events.js), never with the token in the URL."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Browser, Request

from tests.e2e.conftest import Site, live, sign_in

TIMEOUT_MS = 10_000


def test_a_page_opens_its_stream_with_a_ticket_and_again_after_a_restart(browser: Browser, site: Site) -> None:
    agent = site.person("agent", "Ann Agent")
    page = sign_in(browser, site, agent)
    live(page, TIMEOUT_MS)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    asked: list[Request] = []
    page.on("request", lambda request: asked.append(request) if request.url.endswith("/events/ticket") else None)
    site.restart()
    live(page, TIMEOUT_MS)
    assert sockets, "the page reconnected"
    assert all("ticket=odst_" in url and "token" not in url for url in sockets), sockets
    assert asked and all(request.method == "POST" for request in asked)


def test_a_page_whose_session_ended_signs_in_again_when_it_reconnects(browser: Browser, site: Site) -> None:
    """The page asks for a new ticket at each reconnect: a token revoked meanwhile gets 401
    there, and the page goes to the sign-in page instead of retrying for ever."""
    supervisor = site.person("supervisor", "Sam Super")
    page = sign_in(browser, site, supervisor)
    live(page, TIMEOUT_MS)
    token = json.loads(page.evaluate("localStorage.getItem('onduty.session')"))["token"]
    revoked = httpx.post(f"{site.base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert revoked.status_code == 204
    site.restart()  # the stream drops; the page retries until the server is back
    page.wait_for_url(re.compile(r"/login\?next=%2Fsupervisor$"), timeout=TIMEOUT_MS)
    assert page.evaluate("localStorage.getItem('onduty.session')") is None
