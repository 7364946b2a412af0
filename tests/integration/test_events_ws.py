"""The live event stream, `ws://…/api/v1/events?token=…&after=<id>`, against a real server.

Each event is `{"id", "name", "at", "data"}`; after the backlog (the events after
`after`) the server sends `stream.ready` with the last id it covered, then live
events. Everyone gets only what their role and team may see (PRODUCT.md,
"Everywhere").

To show that something did *not* arrive, a test makes one more change that the
client does see (a "sentinel") and reads up to it: the stream is in id order, so
everything before the sentinel has been sent or withheld by then.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.api_client import Api, Person

TIMEOUT = 5.0
Event = dict[str, Any]
Match = Callable[[Event], bool]
_SENTINELS = itertools.count(1)


class Stream:
    """One client of the live stream: what it read, checked as it reads."""

    def __init__(self, socket: ClientConnection, who: Person) -> None:
        self.socket = socket
        self.who = who
        self.backlog: list[Event] = []
        self.live: list[Event] = []
        self.ready_id = -1
        self.last_id = -1

    async def _receive(self) -> Event:
        event: Event = json.loads(await asyncio.wait_for(self.socket.recv(), TIMEOUT))
        assert set(event) == {"id", "name", "at", "data"}, event
        assert isinstance(event["data"], dict) and isinstance(event["at"], str), event
        datetime.fromisoformat(event["at"])
        return event

    async def start(self) -> None:
        """Read the backlog up to `stream.ready`."""
        while True:
            event = await self._receive()
            if event["name"] == "stream.ready":
                assert event["id"] is None
                self.ready_id = event["data"]["last_id"]
                assert all(e["id"] <= self.ready_id for e in self.backlog)
                return
            self._keep(event, self.backlog)

    def _keep(self, event: Event, into: list[Event]) -> None:
        assert isinstance(event["id"], int), event
        assert event["id"] > self.last_id, f"ids must strictly increase: {event['id']} after {self.last_id}"
        self.last_id = event["id"]
        into.append(event)

    async def next(self) -> Event:
        event = await self._receive()
        assert event["name"] != "stream.ready", event
        assert event["id"] > self.ready_id, f"a live event already covered by the backlog: {event}"
        self._keep(event, self.live)
        return event

    async def until(self, name: str, match: Match | None = None) -> list[Event]:
        """Live events up to and including the first `name` that matches; all of them."""
        read: list[Event] = []
        while True:
            event = await self.next()
            read.append(event)
            if event["name"] == name and (match is None or match(event)):
                return read

    @property
    def seen(self) -> list[Event]:
        return self.backlog + self.live


@asynccontextmanager
async def stream(api: Api, who: Person, *, after: int | None = None) -> AsyncIterator[Stream]:
    url = f"ws://{api.address}/api/v1/events?token={who.token}"
    if after is not None:
        url += f"&after={after}"
    async with connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as socket:
        client = Stream(socket, who)
        await client.start()
        yield client


def about(agent: Person) -> Match:
    """Events about this agent (status, prompt, request) or carrying their widget row."""

    def match(event: Event) -> bool:
        data = event["data"]
        return agent.id in (data.get("agent_id"), data.get("agent", {}).get("id"))

    return match


def on_thread(thread_id: int) -> Match:
    return lambda event: event["data"].get("thread_id") == thread_id


def names(events: list[Event], match: Match | None = None) -> list[str]:
    return [e["name"] for e in events if match is None or match(e)]


async def sentinel(api: Api) -> str:
    """A public change everyone signed in but integration sees: a new reason (`reason.saved`)."""
    code = f"sentinel{next(_SENTINELS)}"
    await api.call(api.admin, "POST", "/reasons", {"code": code, "label": "Sentinel"}, expect=201)
    return code


def is_reason(code: str) -> Match:
    return lambda event: event["data"].get("code") == code


async def ready_agent(api: Api, team: str) -> Person:
    return await api.ready_agent(team=team)


async def logged_in(api: Api, team: str) -> Person:
    agent = await api.person("agent", team=team)
    await api.call(agent, "POST", "/me/login", expect=200)
    return agent


# -- live, in order, after commit ------------------------------------------------------


async def test_w1_a_supervisor_sees_an_agent_go_to_lunch_live(api: Api) -> None:
    """A change of status alone is one event: `agent.status_changed` carries the row's new
    status and presence, and no `agent.updated` follows (the most frequent change goes to
    every dashboard once, not twice)."""
    supervisor = await api.person("supervisor", team="a")
    agent = await ready_agent(api, "a")
    async with stream(api, supervisor) as sup:
        assert sup.backlog == []  # without `after`, only what happens from now on
        assert sup.ready_id == api.service.last_event_id > 0
        await api.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
        code = await sentinel(api)
        read = await sup.until("reason.saved", is_reason(code))
    [changed] = [e for e in read if about(agent)(e)]
    assert changed["name"] == "agent.status_changed"
    assert changed["data"]["agent_id"] == agent.id
    assert (changed["data"]["from_state"], changed["data"]["to_state"]) == ("active", "inactive")
    assert changed["data"]["to_reason"] == "lunch"
    assert changed["data"]["actor"] == {"kind": "agent", "id": agent.id, "why": None}
    status = changed["data"]["status"]
    assert (status["state"], status["reason"], status["label"]) == ("inactive", "lunch", "Lunch break")
    assert status["set_by"] == {"kind": "agent", "id": agent.id}
    assert changed["data"]["presence"] == "away"
    row = await api.json(supervisor, "GET", f"/agents/{agent.id}", expect=200)
    # The same as a full row says (an empty `why` is left out of the event's set_by).
    assert {**row["status"], "set_by": {"kind": "agent", "id": agent.id}} == status
    assert row["presence"] == "away"
    ids = [e["id"] for e in read]
    assert ids == sorted(set(ids)) and ids[0] > sup.ready_id


async def test_w1_a_status_change_with_other_effects_sends_the_whole_row(api: Api) -> None:
    """Going active with a thread waiting gets the agent that thread: their row changed
    beyond the status (threads held), so `agent.updated` follows with the whole row."""
    supervisor = await api.person("supervisor", team="a")
    integration = await api.person("integration")
    agent = await api.person("agent", team="a")
    await api.call(agent, "POST", "/me/login", expect=200)
    await api.call(integration, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
    async with stream(api, supervisor) as sup:
        await api.call(agent, "PUT", "/me/status", {"state": "active"}, expect=200)
        read = await sup.until("agent.updated", about(agent))
    changed = next(e for e in read if about(agent)(e))
    assert changed["name"] == "agent.status_changed"
    assert "status" not in changed["data"]  # the whole row follows; the change need not carry it
    row = read[-1]["data"]["agent"]
    assert (row["status"]["state"], row["threads"]) == ("active", 1)


async def test_an_events_effects_are_visible_through_the_api_when_it_arrives(api: Api) -> None:
    """Events are published only after their commit: whatever the event says, a GET
    made the moment it arrives already shows."""
    supervisor = await api.person("supervisor", team="a")
    integration = await api.person("integration")
    agent = await ready_agent(api, "a")

    async def on_arrival(sup: Stream, name: str, match: Match) -> Event:
        return (await sup.until(name, match))[-1]

    async with stream(api, supervisor) as sup:
        body = {"client_id": "c1", "text": "hello"}
        created = asyncio.create_task(api.json(integration, "POST", "/threads", body))
        assigned = await on_arrival(sup, "thread.assigned", lambda e: e["data"]["agent_id"] == agent.id)
        thread_id = assigned["data"]["thread_id"]
        thread = await api.json(supervisor, "GET", f"/threads/{thread_id}", expect=200)
        assert (thread["state"], thread["agent_id"], len(thread["messages"])) == ("assigned", agent.id, 1)
        assert (await created)["id"] == thread_id

        answered = asyncio.create_task(api.call(agent, "POST", f"/threads/{thread_id}/messages", {"text": "hi"}))
        added = await on_arrival(sup, "thread.message_added", lambda e: e["data"]["author"] == "agent")
        thread = await api.json(supervisor, "GET", f"/threads/{thread_id}", expect=200)
        assert thread["state"] == "in_progress"
        assert thread["messages"][-1]["id"] == added["data"]["message_id"]
        await answered

        closed = asyncio.create_task(api.call(agent, "POST", f"/threads/{thread_id}/close"))
        await on_arrival(sup, "thread.closed", on_thread(thread_id))
        thread = await api.json(supervisor, "GET", f"/threads/{thread_id}", expect=200)
        assert thread["state"] == "closed"
        await closed

        lunch = asyncio.create_task(api.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}))
        await on_arrival(sup, "agent.status_changed", about(agent))
        row = await api.json(supervisor, "GET", f"/agents/{agent.id}", expect=200)
        assert row["status"]["state"] == "inactive"
        log = await api.json(supervisor, "GET", "/agents", params={"status": "lunch"}, expect=200)
        assert [r["id"] for r in log] == [agent.id]
        await lunch


# -- resuming: ?after= ------------------------------------------------------------------


async def test_reconnecting_with_after_gets_exactly_the_missed_events_then_live_ones(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    integration = await api.person("integration")
    agent = await ready_agent(api, "a")
    other = await ready_agent(api, "a")

    async def some_changes(tag: str) -> None:
        await api.call(integration, "POST", "/threads", {"client_id": f"{tag}-1", "text": "hi"}, expect=201)
        await api.call(agent, "PUT", "/me/status", {"state": "active_own_clients"}, expect=200)
        await api.call(integration, "POST", "/threads", {"client_id": f"{tag}-2", "text": "hi"}, expect=201)
        await api.call(agent, "PUT", "/me/status", {"state": "active"}, expect=200)
        await api.call(supervisor, "PUT", f"/agents/{other.id}/status", {"state": "not_ready"}, expect=200)
        await api.call(other, "PUT", "/me/status", {"state": "active"}, expect=200)

    async with stream(api, api.admin, after=0) as everything:  # admin sees every event
        assert [e["id"] for e in everything.backlog] == list(range(1, everything.ready_id + 1))
        async with stream(api, api.admin) as first:
            await some_changes("before")
            code = await sentinel(api)
            await first.until("reason.saved", is_reason(code))
        seen_last = first.last_id

        await some_changes("while-away")  # missed

        # Back, while more changes are being made: the backlog and the live events
        # meet with no gap and no duplicate.
        busy = asyncio.create_task(some_changes("meanwhile"))
        async with stream(api, api.admin, after=seen_last) as resumed:
            await busy
            code = await sentinel(api)
            await resumed.until("reason.saved", is_reason(code))
            await everything.until("reason.saved", is_reason(code))
            assert resumed.backlog, "the missed events come first"
            assert resumed.backlog[0]["id"] == seen_last + 1
            assert [e["id"] for e in resumed.seen] == list(range(seen_last + 1, resumed.last_id + 1))
            assert resumed.seen == [e for e in everything.seen if e["id"] > seen_last]

            # ... then live ones, as everyone else gets them.
            await api.call(agent, "PUT", "/me/status", {"state": "not_ready"}, expect=200)
            live = await resumed.until("agent.status_changed", about(agent))
            assert live == await everything.until("agent.status_changed", about(agent))


async def test_a_resumed_stream_filters_its_backlog_like_the_live_one(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    outsider = await api.person("supervisor", team="b")
    agent = await ready_agent(api, "a")
    integration = await api.person("integration")
    start = api.service.last_event_id
    async with stream(api, supervisor) as sup, stream(api, outsider) as out, stream(api, agent) as own:
        thread = await api.json(integration, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        await api.call(agent, "POST", f"/threads/{thread['id']}/messages", {"text": "hello"}, expect=201)
        await api.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
        code = await sentinel(api)
        for client in (sup, out, own):
            await client.until("reason.saved", is_reason(code))
    for who, live in ((supervisor, sup), (outsider, out), (agent, own)):
        async with stream(api, who, after=start) as again:
            # Over the span the live streams watched: the agent's own stream opening came
            # before it and its closing after (S8 agent.connected, agent.disconnected).
            watched = range(live.live[0]["id"], live.last_id + 1)
            assert [e for e in again.backlog if e["id"] in watched] == live.live, who.username


# -- who sees what ----------------------------------------------------------------------


async def test_each_role_gets_only_what_it_may_see(api: Api) -> None:
    sup_a = await api.person("supervisor", team="a")
    sup_b = await api.person("supervisor", team="b")
    integration = await api.person("integration")
    a1 = await ready_agent(api, "a")
    a2 = await logged_in(api, "a")
    b1 = await logged_in(api, "b")
    body = {"code": "coaching", "label": "Coaching", "requires_approval": True}
    await api.call(api.admin, "POST", "/reasons", body, expect=201)

    async with (
        stream(api, sup_a) as watch_a,
        stream(api, sup_b) as watch_b,
        stream(api, a1) as own,
        stream(api, a2) as colleague,
        stream(api, integration) as channel,
        stream(api, api.admin) as admin,
    ):
        # A conversation, all of it team A's: a1 gets it, answers, goes to lunch, closes.
        thread = await api.json(integration, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        tid = thread["id"]
        assert thread["agent_id"] == a1.id
        await api.call(a1, "POST", f"/threads/{tid}/messages", {"text": "hello"}, expect=201)
        await api.call(a1, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)  # finishing
        await api.call(a1, "POST", f"/threads/{tid}/close", expect=200)
        # Team B's own business: a request for approval.
        await api.call(b1, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
        code = await sentinel(api)
        last = await api.json(api.admin, "POST", "/threads", {"client_id": "c-last", "text": "hi"}, expect=201)
        seen: dict[str, list[Event]] = {}
        for key, client in (("a", watch_a), ("b", watch_b), ("a1", own), ("a2", colleague), ("admin", admin)):
            seen[key] = await client.until("reason.saved", is_reason(code))
        seen["integration"] = await channel.until("thread.created", on_thread(last["id"]))

    thread_events = ["thread.created", "thread.message_added", "thread.assigned", "thread.answered", "thread.closed"]
    # The admin sees everything; team A's supervisor the whole conversation and a1's row.
    for key in ("admin", "a"):
        assert set(thread_events) <= set(names(seen[key], on_thread(tid))), key
        assert "agent.updated" in names(seen[key], about(a1)), key
    assert "approval.requested" in names(seen["admin"], about(b1))
    assert "approval.requested" not in names(seen["a"])

    # Team B's supervisor: a1's presence (public, W4) but nothing of team A's threads or rows.
    assert names(seen["b"], on_thread(tid)) == []
    assert [e for e in seen["b"] if e["name"] == "agent.updated" and e["data"]["agent"]["team"] == "a"] == []
    assert not [e for e in seen["b"] if e["name"].startswith("thread.") and e["data"].get("thread_id") == tid]
    statuses = [e["data"]["to_state"] for e in seen["b"] if e["name"] == "agent.status_changed" and about(a1)(e)]
    assert statuses == ["finishing", "inactive"]
    assert "approval.requested" in names(seen["b"], about(b1))

    # a1 gets their own thread and row; their colleague a2 only a1's public presence.
    assert {"thread.assigned", "thread.message_added", "thread.closed"} <= set(names(seen["a1"], on_thread(tid)))
    assert "agent.updated" in names(seen["a1"], about(a1))
    assert names(seen["a2"], on_thread(tid)) == []
    assert "agent.updated" not in names(seen["a2"], about(a1))
    assert "agent.status_changed" in names(seen["a2"], about(a1))
    assert "approval.requested" not in names(seen["a2"])
    assert "approval.requested" not in names(seen["a1"])

    # The integration: every conversation, the agents' answers included; not the widget.
    conversation = [e for e in seen["integration"] if on_thread(tid)(e)]
    assert set(thread_events) <= set(names(conversation))
    authors = [e["data"]["author"] for e in conversation if e["name"] == "thread.message_added"]
    assert authors == ["client", "agent"]
    assert "agent.updated" not in names(seen["integration"])
    assert not [n for n in names(seen["integration"]) if n.startswith("approval.")]


async def test_a_supervisor_gets_the_queue_and_threads_coming_to_their_team(api: Api) -> None:
    """Queued threads concern every supervisor; a transfer across teams concerns both."""
    sup_a = await api.person("supervisor", team="a")
    sup_b = await api.person("supervisor", team="b")
    a1 = await logged_in(api, "a")
    b1 = await logged_in(api, "b")
    async with stream(api, sup_a) as watch_a, stream(api, sup_b) as watch_b:
        queued = await api.json(api.admin, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        assert queued["state"] == "queued"
        tid = queued["id"]
        await api.call(sup_a, "POST", f"/threads/{tid}/transfer", {"agent_id": a1.id}, expect=200)
        # R3: an agent hands what they hold to anyone (a supervisor only within their team, W6).
        await api.call(a1, "POST", f"/threads/{tid}/transfer", {"agent_id": b1.id}, expect=200)
        await api.call(b1, "POST", f"/threads/{tid}/messages", {"text": "hello"}, expect=201)
        code = await sentinel(api)
        seen_a = await watch_a.until("reason.saved", is_reason(code))
        seen_b = await watch_b.until("reason.saved", is_reason(code))
    # Team A: the queued thread, then both transfers (to their agent, then away from them).
    assert names(seen_a, on_thread(tid)) == [
        "thread.created",
        "thread.message_added",
        "thread.transferred",
        "thread.transferred",
    ]
    # Team B: the queued thread, then only from the moment it came to their agent (it is not
    # told when the thread left the queue for team A's agent: that transfer is team A's business).
    assert names(seen_b, on_thread(tid)) == [
        "thread.created",
        "thread.message_added",
        "thread.transferred",
        "thread.message_added",
        "thread.answered",
    ]


async def test_every_supervisor_hears_the_queue_change_but_not_who_took_the_thread(api: Api) -> None:
    """The queue is shared: when another team's agent takes a thread, every supervisor's
    queue view is told the new counts (`queue.changed`), and nothing about that agent."""
    sup_a = await api.person("supervisor", team="a")
    await api.person("agent", team="b")
    b1 = await logged_in(api, "b")
    async with stream(api, sup_a) as watch_a:
        queued = await api.json(api.admin, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        await api.call(b1, "PUT", "/me/status", {"state": "active"}, expect=200)  # takes it from the queue
        code = await sentinel(api)
        seen = await watch_a.until("reason.saved", is_reason(code))
    changes = [e["data"] for e in seen if e["name"] == "queue.changed"]
    assert changes == [
        {"length": 1, "waiting_for_owner": 0, "routing": "halted"},
        {"length": 0, "waiting_for_owner": 0, "routing": "flowing"},
    ]
    assert "thread.assigned" not in names(seen, on_thread(queued["id"]))


async def test_r4_a_thread_waiting_for_its_owner_is_the_owners_teams_business(api: Api) -> None:
    """A client's new thread waiting for their own agent (R4, affinity_wait) reaches that
    agent's team only, its client's messages included; not every supervisor."""
    sup_a = await api.person("supervisor", team="a")
    sup_b = await api.person("supervisor", team="b")
    owner = await ready_agent(api, "b")
    await api.call(api.admin, "PATCH", "/settings", {"affinity_wait": 300}, expect=200)
    first = await api.json(api.admin, "POST", "/threads", {"client_id": "x", "text": "hi"}, expect=201)
    assert first["agent_id"] == owner.id
    await api.call(owner, "POST", f"/threads/{first['id']}/messages", {"text": "hello"}, expect=201)
    await api.call(owner, "POST", f"/threads/{first['id']}/close", expect=200)
    await api.call(owner, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
    async with stream(api, sup_a) as watch_a, stream(api, sup_b) as watch_b:
        waiting = await api.json(api.admin, "POST", "/threads", {"client_id": "x", "text": "again"}, expect=201)
        assert (waiting["state"], waiting["agent_id"]) == ("queued", None)
        await api.call(api.admin, "POST", "/threads", {"client_id": "x", "text": "still there?"}, expect=201)
        code = await sentinel(api)
        seen_a = await watch_a.until("reason.saved", is_reason(code))
        seen_b = await watch_b.until("reason.saved", is_reason(code))
    assert names(seen_a, on_thread(waiting["id"])) == []
    assert names(seen_b, on_thread(waiting["id"])) == ["thread.created", "thread.message_added", "thread.message_added"]


# -- refusals ---------------------------------------------------------------------------


async def closed_with(api: Api, query: str) -> int:
    """Connects with this query and answers the code the server closes the stream with."""
    async with connect(f"ws://{api.address}/api/v1/events?{query}", open_timeout=TIMEOUT) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_a_bad_token_closes_the_stream_with_4401_and_a_bad_after_with_4400(api: Api) -> None:
    revoked = await api.person("agent", team="a")
    await api.call(revoked, "POST", "/auth/logout", expect=204)
    for query in ("token=not-a-token", "", "token=", f"token={revoked.token}", "token=not-a-token&after=abc"):
        assert await closed_with(api, query) == 4401, query
    agent = await api.person("agent", team="a")
    # Past the journal's BIGINT, a digit that is no ASCII digit, a number of 5,000 digits: no 4500.
    for after in ("abc", "-1", "1.5", "", "%20", str(2**63), str(2**64), "%C2%B2", "9" * 5000):
        assert await closed_with(api, f"token={agent.token}&after={after}") == 4400, after
    # ... and a good one is not closed.
    async with stream(api, agent, after=0) as good:
        assert good.ready_id == api.service.last_event_id


# -- timers -----------------------------------------------------------------------------


async def test_s6_agent_prompted_arrives_when_the_response_timeout_passes(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    outsider = await api.person("supervisor", team="b")
    agent = await ready_agent(api, "a")
    settings = await api.json(agent, "GET", "/settings", expect=200)
    async with stream(api, agent) as own, stream(api, supervisor) as sup, stream(api, outsider) as out:
        thread = await api.json(api.admin, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        assert thread["agent_id"] == agent.id
        await api.advance(settings["response_timeout"] - 1)
        code = await sentinel(api)
        assert "agent.prompted" not in names(await own.until("reason.saved", is_reason(code)))

        await api.advance(1)
        prompted = (await own.until("agent.prompted"))[-1]
        assert prompted["data"]["agent_id"] == agent.id
        deadline = datetime.fromisoformat(prompted["data"]["deadline"])
        assert deadline - datetime.fromisoformat(prompted["at"]) == timedelta(seconds=settings["prompt_timeout"])
        assert (await sup.until("agent.prompted"))[-1] == prompted

        # "continue working?" answered: the prompt is withdrawn, live too.
        await api.call(agent, "POST", "/me/continue", expect=200)
        cleared = (await own.until("agent.prompt_cleared"))[-1]
        assert cleared["data"] == {"agent_id": agent.id, "why": "continued"}

        code = await sentinel(api)
        assert not [n for n in names(await out.until("reason.saved", is_reason(code))) if n.startswith("agent.prompt")]


async def test_s8_a_client_closing_with_1012_is_disconnected_like_any_other(api: Api) -> None:
    """1012 ("service restart") is what the server sends when it stops, and then nothing is
    recorded; a client that sends it itself is still disconnected, or it could dodge S8."""
    agent = await ready_agent(api, "a")
    async with connect(f"ws://{api.address}/api/v1/events?token={agent.token}", open_timeout=TIMEOUT) as socket:
        await asyncio.wait_for(socket.recv(), TIMEOUT)  # stream.ready: the connect is recorded
        assert (await api.json(api.admin, "GET", f"/agents/{agent.id}", expect=200))["connected"] is True
        await socket.close(1012, "a client saying the service restarts")
    for _ in range(100):
        row = await api.json(api.admin, "GET", f"/agents/{agent.id}", expect=200)
        if not row["connected"]:
            break
        await asyncio.sleep(0.05)
    assert row["connected"] is False
    assert row["disconnect_deadline"] is not None  # the grace runs
