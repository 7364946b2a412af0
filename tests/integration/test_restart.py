"""A real `onduty serve` process killed mid-scenario and started again.

State, pending timers and the event stream carry on; a prompt deadline that
fell while the server was down fires after start (S6, "timers survive a
restart"); nothing acknowledged is lost, even with SIGKILL (no clean stop).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from onduty.storage.database import Database
from tests.serve_process import ServeProcess

PYTHON = sys.executable


class Server(ServeProcess):
    def __init__(self, db: Database, workdir: Path) -> None:
        super().__init__(db.url, workdir)
        self.db = db

    def call(self, token: str, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.base}/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def events(self, token: str, after: int | None, until: str, timeout: float = 15) -> list[dict[str, Any]]:
        """Events from the stream (resuming after `after`) up to the first named `until`."""
        query = f"token={token}" + (f"&after={after}" if after is not None else "")
        seen: list[dict[str, Any]] = []
        with connect(f"ws://127.0.0.1:{self.port}/api/v1/events?{query}", open_timeout=10) as ws:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                event = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
                seen.append(event)
                if event["name"] == until:
                    return seen
        raise AssertionError(f"no {until} within {timeout}s; saw {[e['name'] for e in seen]}")


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[Server]:
    running = Server(database, tmp_path)
    yield running
    running.stop()


def wait_for(check: Any, timeout: float = 15) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_s6_state_timers_and_events_survive_a_crash(server: Server) -> None:
    admin = server.add_user("root", "admin").token
    agent = server.add_user("ann", "agent", team="support")
    integration = server.add_user("chat", "integration").token
    server.start()
    server.call(admin, "PATCH", "/settings", {"response_timeout": 1, "prompt_timeout": 3})
    server.call(agent.token, "POST", "/me/login")
    server.call(agent.token, "PUT", "/me/status", {"state": "active"})
    thread = server.call(integration, "POST", "/threads", {"client_id": "c1", "text": "anyone there?"})
    assert thread["agent_id"] == agent.id

    # S6: unanswered for response_timeout -> "continue working?", due to expire 3 s later.
    prompted = wait_for(lambda: server.call(agent.token, "GET", "/me")["agent"]["prompt_deadline"])
    before_crash = server.events(admin, after=0, until="stream.ready")
    last_seen = before_crash[-1]["data"]["last_id"]
    assert any(e["name"] == "agent.prompted" for e in before_crash)

    server.kill()  # a crash: no clean shutdown
    time.sleep(3.5)  # the prompt deadline passes while nobody is running
    server.start()

    # The deadline that fell while down fires after start: kicked out, thread back in the queue.
    me = wait_for(lambda: (m := server.call(agent.token, "GET", "/me"))["status"]["state"] == "kicked_out" and m)
    assert me["status"]["set_by"] == {"kind": "system", "id": None, "why": "kicked_out"}
    assert me["agent"]["threads"] == 0
    queue = server.call(admin, "GET", "/queue")
    assert [item["id"] for item in queue["items"]] == [thread["id"]]
    assert queue["routing_halted"] is True  # R6: nobody eligible now
    assert prompted  # the prompt was really shown before the crash

    # The stream resumes where the client left off: what it missed, in order, then live.
    missed = server.events(admin, after=last_seen, until="stream.ready")
    names = [e["name"] for e in missed]
    assert "agent.status_changed" in names
    assert "thread.requeued" in names
    ids = [e["id"] for e in missed if e["id"] is not None]
    assert ids == sorted(ids)
    assert ids[0] > last_seen

    # And the service goes on: the agent comes back and gets the thread again.
    server.call(agent.token, "PUT", "/me/status", {"state": "active"})
    held = server.call(agent.token, "GET", f"/threads/{thread['id']}")
    assert held["agent_id"] == agent.id
    assert held["state"] == "assigned"


def test_acknowledged_commands_survive_sigkill(server: Server) -> None:
    """Whatever the API acknowledged is in the database after a crash."""
    admin = server.add_user("root", "admin").token
    integration = server.add_user("chat", "integration").token
    server.start()
    created = [
        server.call(integration, "POST", "/threads", {"client_id": f"client-{i}", "text": f"message {i}"})["id"]
        for i in range(25)
    ]
    server.kill()
    server.start()
    queue = server.call(admin, "GET", "/queue", None)
    assert [item["id"] for item in queue["items"]] == created
    assert os.path.exists(server.log)
