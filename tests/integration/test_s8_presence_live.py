"""S8 (connected or not) end to end: real WebSocket streams to a real `onduty serve`
process, on SQLite and on PostgreSQL, with the server stopped (SIGTERM) and killed
(SIGKILL) mid-grace.

The clocks are real, so the graces are short (a few seconds) and every wait is a poll
with a deadline. Proving that something did *not* happen needs the deadline it would
have happened at to pass: those waits are bounded by the grace the server announced
(`agent.disconnected` carries it).

The admin is made with `onduty users add` (as an operator does); everyone else through
`POST /users`, which is faster than one CLI process per user.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from onduty.storage.database import Database
from tests.serve_process import ServeProcess

GRACE = 2.0  # seconds: long enough for a reconnect on a loaded machine, short for the suite
WAIT = 15.0  # the most any single step may take beyond what it waits for
TEAM = "support"
MS = 0.001  # the API's times are whole milliseconds

Event = dict[str, Any]


def instant(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout:.1f}s")
        time.sleep(0.05)


def sleep_until(moment: float) -> None:
    """Until a wall-clock moment (the server's clock is this machine's), at most WAIT s."""
    time.sleep(min(WAIT, max(0.0, moment - time.time())))


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    token: str


class Stream:
    """One event stream held open (websockets' sync client: a thread of its own reads the
    frames and answers pings, so the stream stays up while the test does other things)."""

    def __init__(self, port: int, token: str, after: int | None = None) -> None:
        query = f"token={token}" + (f"&after={after}" if after is not None else "")
        self._held = ExitStack()  # the client wants `with`; the stream outlives this call
        self.ws: ClientConnection = self._held.enter_context(
            connect(f"ws://127.0.0.1:{port}/api/v1/events?{query}", open_timeout=WAIT, close_timeout=5)
        )
        self.events: list[Event] = []
        self.until(lambda e: e["name"] == "stream.ready")  # what it missed (after=) comes before

    def until(self, match: Callable[[Event], bool], timeout: float = WAIT) -> Event:
        """Reads on to the first event that matches (an earlier one read counts too)."""
        for earlier in self.events:
            if match(earlier):
                return earlier
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such event within {timeout:.1f}s; saw {self.events}")
            try:
                event: Event = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            self.events.append(event)
            if match(event):
                return event

    def close(self) -> None:
        with suppress(ConnectionClosed, OSError):  # the server is gone already
            self._held.close()


def about(agent: Person, name: str, why: str | None = None) -> Callable[[Event], bool]:
    """Matches the event `name` of this agent (and, for status changes, caused for `why`)."""

    def match(event: Event) -> bool:
        data = event["data"]
        if event["name"] != name or data.get("agent_id") != agent.id:
            return False
        return why is None or data["actor"]["why"] == why

    return match


class Site(ServeProcess):
    def __init__(self, db: Database, workdir: Path) -> None:
        super().__init__(db.url, workdir)
        self.began = time.time()
        self.started_in = 0.0
        self.opened: list[Stream] = []
        self.admin = ""

    def start(self, timeout: float = 30) -> None:
        began = time.monotonic()
        super().start(timeout)
        self.started_in = time.monotonic() - began

    def call(self, token: str, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base}/api/v1{path}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {token}"},
            timeout=WAIT,
        )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def open(self, setup: dict[str, Any]) -> None:
        """The first admin (as `onduty users add` makes one), the server started, the settings set."""
        self.admin = self.add_user("root", "admin", password="p4ssw0rd!").token
        self.start()
        self.call(self.admin, "PATCH", "/settings", setup)

    def user(self, username: str, role: str) -> Person:
        created = self.call(self.admin, "POST", "/users", {"username": username, "role": role, "team": TEAM})
        return Person(created["id"], username, created["token"])

    def stream(self, who: Person | str, after: int | None = None) -> Stream:
        opened = Stream(self.port, who if isinstance(who, str) else who.token, after)
        self.opened.append(opened)
        return opened

    def ready(self, agent: Person, state: str = "active", reason: str | None = None) -> Stream:
        """The agent logs in, opens their stream, and takes a status."""
        self.call(agent.token, "POST", "/me/login")
        own = self.stream(agent)
        self.call(agent.token, "PUT", "/me/status", {"state": state, "reason": reason})
        return own

    def agent(self, viewer: Person, agent: Person) -> Any:
        return self.call(viewer.token, "GET", f"/agents/{agent.id}")

    def status_log(self, viewer: Person, agent: Person) -> list[Any]:
        """The agent's rows of the status log since the test began (S7, P1), oldest first."""
        page = self.call(
            viewer.token,
            "GET",
            "/reports/status-log",
            agent_id=agent.id,
            after=0,  # oldest first
            **{"from": iso(self.began - 60), "to": iso(time.time() + 3600)},
        )
        assert page["next"] is None
        items: list[Any] = page["items"]
        return items

    def moved(self, viewer: Person, agent: Person, state: str, timeout: float) -> Any:
        """Polls until the system has set `state`; answers the agent object."""
        return wait_for(
            lambda: (seen := self.agent(viewer, agent))["status"]["state"] == state and seen,
            timeout,
            f"{agent.username} {state}",
        )

    def close_streams(self) -> None:
        for opened in self.opened:
            opened.close()
        self.opened.clear()


@pytest.fixture
def site(database: Database, tmp_path: Path) -> Iterator[Site]:
    running = Site(database, tmp_path)
    try:
        yield running
    finally:
        running.close_streams()
        running.stop()


def became(agent: Person, state: str) -> Callable[[Event], bool]:
    changed = about(agent, "agent.status_changed")
    return lambda event: changed(event) and event["data"]["to_state"] == state


def by_system(why: str) -> dict[str, Any]:
    return {"kind": "system", "id": None, "why": why}


# -- away, then back; back in time, nothing ---------------------------------------------


def test_s8_no_stream_for_the_grace_sets_away_a_reconnect_brings_it_back_one_within_changes_nothing(
    site: Site,
) -> None:
    """ann closes her page and stays away past the grace; ben reloads his within it. Both
    closed at the same moment, so once ann is moved, ben's grace would have run out too."""
    site.open({"disconnect_grace": GRACE})
    boss = site.user("sue", "supervisor")
    ann, ben = site.user("ann", "agent"), site.user("ben", "agent")
    watching = site.stream(boss)
    streams = {agent: site.ready(agent) for agent in (ann, ben)}
    for agent in (ann, ben):
        assert site.agent(boss, agent)["connected"] is True
        watching.until(became(agent, "active"))
    seen_before = len(watching.events)
    before, logged = site.agent(boss, ben)["status"], site.status_log(boss, ben)
    assert before["set_by"] == {"kind": "agent", "id": ben.id, "why": None}

    closed_at = time.time()
    for own in streams.values():
        own.close()
    deadlines = {a: instant(watching.until(about(a, "agent.disconnected"))["data"]["deadline"]) for a in (ann, ben)}
    assert closed_at + GRACE - MS <= deadlines[ann] < closed_at + GRACE + 2.0
    site.stream(ben)  # a page reloading
    assert time.time() < deadlines[ben], "the reconnect came after the grace: the machine is too slow for this test"
    watching.until(about(ben, "agent.connected"))
    assert site.agent(boss, ann)["connected"] is False

    # After the grace: ann is inactive, away, set by the system because disconnected.
    seen = site.moved(boss, ann, "inactive", deadlines[ann] - time.time() + WAIT)
    status = seen["status"]
    assert (status["reason"], status["set_by"]) == ("away", by_system("disconnected"))
    assert instant(status["since"]) >= deadlines[ann] - MS  # not before the grace ran out
    assert seen["connected"] is False
    change = watching.until(about(ann, "agent.status_changed", "disconnected"))["data"]
    assert (change["from_state"], change["to_state"], change["to_reason"]) == ("active", "inactive", "away")

    # ben, back within his grace: nothing changed, nothing recorded, nothing said.
    sleep_until(deadlines[ben] + 0.5)
    site.call(site.admin, "PATCH", "/settings", {"disconnect_grace": GRACE + 1})  # a sentinel:
    watching.until(lambda e: e["name"] == "settings.changed")  # all that came before it has been read
    now = site.agent(boss, ben)
    assert now["status"] == before
    assert now["connected"] is True
    assert site.status_log(boss, ben) == logged
    assert not [e for e in watching.events[seen_before:] if about(ben, "agent.status_changed")(e)]

    # ann's page connects again: the status before comes back, by the system, reconnected.
    site.stream(ann)  # the change is recorded before the stream says it is ready
    back = site.agent(boss, ann)
    assert (back["status"]["state"], back["status"]["reason"]) == ("active", None)
    assert back["status"]["set_by"] == by_system("reconnected")
    assert back["connected"] is True
    change = watching.until(about(ann, "agent.status_changed", "reconnected"))["data"]
    assert (change["from_state"], change["from_reason"], change["to_state"]) == ("inactive", "away", "active")

    rows = site.status_log(boss, ann)
    assert [(r["from"]["state"], r["to"]["state"], r["to"]["reason"], r["actor"]["why"]) for r in rows[-2:]] == [
        ("active", "inactive", "away", "disconnected"),
        ("inactive", "active", None, "reconnected"),
    ]
    assert [r["actor"]["kind"] for r in rows[-2:]] == ["system", "system"]


def test_s8_on_disconnect_offline_logs_out_after_the_grace_and_a_return_logs_back_in(site: Site) -> None:
    site.open({"disconnect_grace": GRACE, "return_window": 3600, "on_disconnect": {"state": "offline"}})
    boss = site.user("sue", "supervisor")
    ann = site.user("ann", "agent")
    bea = site.user("bea", "agent")  # on lunch: with on_disconnect offline, everyone not offline goes
    watching = site.stream(boss)
    streams = [site.ready(ann), site.ready(bea, "inactive", "lunch")]

    closed_at = time.time()
    for own in streams:
        own.close()
    for agent in (ann, bea):
        seen = site.moved(boss, agent, "offline", GRACE + WAIT)
        assert seen["status"]["set_by"] == by_system("disconnected")
        assert seen["presence"] == "offline"
        assert instant(seen["status"]["since"]) >= closed_at + GRACE - MS
        watching.until(about(agent, "agent.status_changed", "disconnected"))
        row = site.status_log(boss, agent)[-1]
        assert (row["to"]["state"], row["actor"]["kind"], row["actor"]["why"]) == ("offline", "system", "disconnected")

    # Back within the return window: logged in again, to the status from before.
    for agent, before in ((ann, ("active", None)), (bea, ("inactive", "lunch"))):
        site.stream(agent)
        back = site.agent(boss, agent)["status"]
        assert (back["state"], back["reason"]) == before
        assert back["set_by"] == by_system("reconnected")
        change = watching.until(about(agent, "agent.status_changed", "reconnected"))["data"]
        assert (change["from_state"], change["to_state"], change["to_reason"]) == ("offline", *before)


# -- a restart in the middle of a grace -------------------------------------------------

DOWN = 0.5  # seconds the server stays down (its start takes longer): what tells "from the stop" from "from the start"


# How the server goes down, one way per database: each run waits out two graces, and the
# suite's time is bounded. SIGKILL (nothing flushed) on SQLite, SIGTERM on PostgreSQL.
RESTART_BY = {"sqlite": "sigkill", "postgresql": "sigterm"}


def test_s8_a_restart_mid_grace_keeps_the_grace_of_the_disconnected_and_gives_the_connected_a_new_one(
    site: Site, database: Database
) -> None:
    """ada and bob closed their streams before the server went down: their grace runs from
    then. cid and dot were connected when it went down: the server's down time is nobody's
    absence, their grace runs from the start. ada and cid reconnect in time: nothing
    changes; bob and dot do not: each is moved when their own grace runs out."""
    how = RESTART_BY[database.dialect]
    site.open({"disconnect_grace": GRACE})
    # The restart must fit in the grace: longer on a slow (loaded) machine, within bounds.
    grace = min(12.0, max(5.0, round(DOWN + 1.0 + 2.0 * site.started_in, 1)))
    site.call(site.admin, "PATCH", "/settings", {"disconnect_grace": grace})
    boss = site.user("sue", "supervisor")
    ada, bob, cid, dot = (site.user(name, "agent") for name in ("ada", "bob", "cid", "dot"))
    watching = site.stream(boss)
    streams = {agent: site.ready(agent) for agent in (ada, bob, cid, dot)}
    before = {agent: site.agent(boss, agent)["status"] for agent in (ada, cid)}
    logged = {agent: site.status_log(boss, agent) for agent in (ada, cid)}

    closed_at = time.time()
    streams[ada].close()
    streams[bob].close()
    # Recorded (the event goes out once committed), so even SIGKILL cannot lose it.
    deadlines = {a: instant(watching.until(about(a, "agent.disconnected"))["data"]["deadline"]) for a in (ada, bob)}
    assert closed_at + grace - MS <= deadlines[bob] < closed_at + grace + 2.0

    stopped_at = time.time()
    if how == "sigterm":
        site.stop()
    else:
        site.kill()
    site.close_streams()
    time.sleep(DOWN)
    started_at = time.time()
    site.start()

    # Their pages connect again; ada's within the grace counted from her disconnect.
    site.stream(ada)
    assert time.time() < deadlines[ada], "the restart took longer than the grace: the machine is too slow"
    site.stream(cid)
    for agent in (ada, cid):
        now = site.agent(boss, agent)
        assert now["status"] == before[agent], agent.username
        assert now["connected"] is True
    # dot's grace, as the journal says (the whole of it, from the first event on).
    history = site.stream(boss, after=0).events
    dot_gone = [e for e in history if about(dot, "agent.disconnected")(e)]
    assert len(dot_gone) == 1, dot_gone
    deadlines[dot] = instant(dot_gone[0]["data"]["deadline"])
    assert deadlines[dot] >= started_at + grace, (
        f"dot's grace ends {started_at + grace - deadlines[dot]:.2f}s before one counted from the start: "
        f"the server's down time counted as dot's absence (stopped at +{stopped_at - closed_at:.2f}s, "
        f"started at +{started_at - closed_at:.2f}s after ada and bob left; grace {grace}s)"
    )

    # bob: moved when the grace from his disconnect ran out, not one from the start.
    seen = site.moved(boss, bob, "inactive", deadlines[bob] - time.time() + WAIT)
    assert (seen["status"]["reason"], seen["status"]["set_by"]) == ("away", by_system("disconnected"))
    moved_at = instant(seen["status"]["since"])
    assert deadlines[bob] - MS <= moved_at < deadlines[dot], (closed_at, stopped_at, started_at, moved_at)

    # dot: connected when the server went down, so disconnected from its start on.
    seen = site.moved(boss, dot, "inactive", deadlines[dot] - time.time() + WAIT)
    assert (seen["status"]["reason"], seen["status"]["set_by"]) == ("away", by_system("disconnected"))
    moved_at = instant(seen["status"]["since"])
    assert moved_at >= deadlines[dot] - MS

    # By now every grace ada's and cid's could have run out has: nothing changed, nothing recorded.
    sleep_until(moved_at + 0.5)
    for agent in (ada, cid):
        assert site.agent(boss, agent)["status"] == before[agent], agent.username
        assert site.status_log(boss, agent) == logged[agent], agent.username
