"""A page receives what it shows: subscriptions on the live stream, against a real server
(docs/rules.md, "API extensions": `?subscribe=` at open, `{"subscribe": …}` on the socket).

A supervisor's page takes its team and the general queue (W1, W5); an agent's page its
own events, and other agents' presence (W4) only while its transfer picker is open, then
coalesced into `presence.changed`, one frame a second at most. A stream with no
subscription gets what it always got; a subscription only narrows what the role may see.

As in test_events_ws.py, a test shows that something did *not* arrive by reading up to a
later change the client does see (a "sentinel"): the stream is in id order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration import test_sign_out_everywhere as instances
from tests.integration.api_client import Api, Person
from tests.integration.test_events_ws import about, is_reason, logged_in, names, on_thread, ready_agent, sentinel

TIMEOUT = 5.0
Frame = dict[str, Any]
Match = Callable[[Frame], bool]
OWN_TEAM_AND_QUEUE = {"teams": ["a"], "queue": True}
two = instances.two  # the fixture: an owner and a follower, in this process


class Page:
    """One subscribed stream: the events it read (with ids, in order) and the frames
    without an id (`presence.changed`, `stream.subscribed`, `stream.error`), each with
    the moment it arrived."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.backlog: list[Frame] = []
        self.live: list[Frame] = []
        self.notes: list[tuple[float, Frame]] = []  # frames without an id, live ones included
        self.ready: Frame = {}
        self.last_id = -1

    async def _frame(self) -> Frame:
        frame: Frame = json.loads(await asyncio.wait_for(self.socket.recv(), TIMEOUT))
        assert set(frame) == {"id", "name", "at", "data"}, frame
        if frame["id"] is None:
            self.notes.append((time.monotonic(), frame))
        else:
            assert frame["id"] > self.last_id, f"ids must strictly increase: {frame['id']} after {self.last_id}"
            self.last_id = frame["id"]
        return frame

    async def start(self) -> None:
        while (frame := await self._frame())["name"] != "stream.ready":
            if frame["id"] is not None:
                self.backlog.append(frame)
        self.ready = frame["data"]

    async def until(self, match: Match) -> list[Frame]:
        """Frames up to and including the first that matches; the events among them kept."""
        read = []
        while True:
            frame = await self._frame()
            read.append(frame)
            if frame["id"] is not None:
                self.live.append(frame)
            if match(frame):
                return read

    async def say(self, message: Any) -> None:
        await self.socket.send(json.dumps(message))

    async def subscribe(self, subscription: dict[str, Any]) -> Frame:
        """Subscribes anew; the server's answer (`stream.subscribed`)."""
        await self.say({"subscribe": subscription})
        return (await self.until(named("stream.subscribed")))[-1]

    def presence(self) -> list[tuple[float, Frame]]:
        return [(at, f) for at, f in self.notes if f["name"] == "presence.changed"]


def url(api: Api, who: Person, subscribe: dict[str, Any] | None = None, after: int | None = None) -> str:
    query = f"token={who.token}"
    if after is not None:
        query += f"&after={after}"
    if subscribe is not None:
        query += f"&subscribe={quote(json.dumps(subscribe))}"
    return f"ws://{api.address}/api/v1/events?{query}"


@asynccontextmanager
async def page(
    api: Api, who: Person, subscribe: dict[str, Any] | None = None, after: int | None = None
) -> AsyncIterator[Page]:
    async with connect(url(api, who, subscribe, after), open_timeout=TIMEOUT, close_timeout=TIMEOUT) as socket:
        client = Page(socket)
        await client.start()
        yield client


def named(name: str, match: Match | None = None) -> Match:
    return lambda frame: frame["name"] == name and (match is None or match(frame))


def reason(code: str) -> Match:
    return named("reason.saved", is_reason(code))


def status_of(agent: Person) -> Match:
    return named("agent.status_changed", about(agent))


def latest(frame: Frame) -> dict[int, tuple[str, str | None]]:
    """What a `presence.changed` frame says of each agent: (state, reason)."""
    return {c["agent_id"]: (c["to_state"], c["to_reason"]) for c in frame["data"]["changes"]}


async def go(api: Api, agent: Person, state: str, why: str | None = None) -> None:
    body = {"state": state} if why is None else {"state": state, "reason": why}
    await api.call(agent, "PUT", "/me/status", body, expect=200)


# -- narrowing ------------------------------------------------------------------------------


async def test_w1_w4_a_supervisors_page_gets_its_team_and_the_queue_and_not_other_teams_status(api: Api) -> None:
    """Subscribed to team a and the queue, a supervisor's stream is the unsubscribed one (as
    programs get it, unchanged) less other teams' status changes."""
    supervisor = await api.person("supervisor", team="a")
    a1 = await ready_agent(api, "a")
    b1 = await ready_agent(api, "b")
    async with page(api, supervisor, OWN_TEAM_AND_QUEUE) as shown, page(api, supervisor) as everything:
        assert shown.ready["subscription"] == {"teams": ["a"], "queue": True, "presence": "teams"}
        assert everything.ready["subscription"] is None
        await go(api, a1, "inactive", "lunch")
        await go(api, b1, "inactive", "lunch")  # nobody active now: the next thread waits
        queued = await api.json(api.admin, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        await go(api, b1, "active")  # takes it: team b's business, but the queue's counts change
        code = await sentinel(api)
        got = await shown.until(reason(code))
        everyone = await everything.until(reason(code))
    assert names(got, about(a1)) == ["agent.status_changed"]
    assert names(got, about(b1)) == []
    assert names(got, on_thread(queued["id"])) == ["thread.created", "thread.message_added"]
    assert [e["data"]["length"] for e in got if e["name"] == "queue.changed"][-2:] == [1, 0]
    assert names(everyone, about(b1)) == ["agent.status_changed", "agent.status_changed"]
    assert got == [e for e in everyone if not about(b1)(e)]
    assert shown.presence() == []


async def test_a_subscription_only_narrows_what_the_role_may_see(api: Api) -> None:
    """A supervisor who names another team gets its public presence (W4), and nothing of its
    private business: requests, rows, threads. An admin naming it gets all of that."""
    nosy = await api.person("supervisor", team="a")
    b1 = await logged_in(api, "b")
    body = {"code": "coaching", "label": "Coaching", "requires_approval": True}
    await api.call(api.admin, "POST", "/reasons", body, expect=201)
    team_b = {"teams": ["b"], "queue": True, "presence": "all"}
    async with page(api, nosy, team_b) as watch, page(api, api.admin, team_b) as admin:
        await api.call(b1, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=202)
        await go(api, b1, "active")
        thread = await api.json(api.admin, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        assert thread["agent_id"] == b1.id
        code = await sentinel(api)
        seen = await watch.until(reason(code))
        seen_admin = await admin.until(reason(code))
    assert names(seen, about(b1)) == ["agent.status_changed"]
    assert names(seen, on_thread(thread["id"])) == []
    assert {"approval.requested", "agent.updated", "agent.status_changed"} <= set(names(seen_admin, about(b1)))
    assert "thread.assigned" in names(seen_admin, on_thread(thread["id"]))


# -- changing it live; presence coalesced ----------------------------------------------------


async def test_w4_other_teams_presence_comes_only_while_shown_and_at_most_once_a_second(api: Api) -> None:
    """An agent's page takes its own events; while its transfer picker is open, every other
    agent's presence too, each frame carrying the latest change of each agent that changed,
    one frame a second at most. Closing the picker stops it."""
    me = await logged_in(api, "a")
    b1 = await logged_in(api, "b")
    b2 = await logged_in(api, "b")
    async with page(api, me, {}) as mine:
        assert mine.ready["subscription"] == {"teams": [], "queue": False, "presence": "teams"}
        await go(api, b1, "active")
        await go(api, me, "active")
        code = await sentinel(api)
        got = await mine.until(reason(code))
        assert names(got, about(b1)) == [] and names(got, about(me)) == ["agent.status_changed"]
        assert mine.presence() == []

        # The picker opens.
        answer = await mine.subscribe({"presence": "all"})
        assert answer["data"]["subscription"] == {"teams": [], "queue": False, "presence": "all"}
        assert answer["data"]["last_id"] == api.service.last_event_id
        await go(api, b1, "inactive", "lunch")  # the first change after a quiet second comes at once
        first = (await mine.until(named("presence.changed")))[-1]
        assert latest(first) == {b1.id: ("inactive", "lunch")}
        change = first["data"]["changes"][0]
        assert (change["presence"], change["status"]["label"]) == ("away", "Lunch break")

        await go(api, b1, "active")
        await go(api, b2, "active")
        await go(api, b1, "inactive", "meeting")
        await go(api, b2, "inactive", "short_break")
        await go(api, b1, "not_ready")
        [(arrived, _)] = mine.presence()
        assert time.monotonic() - arrived < 0.9, "the changes must fall within one second for this test"
        second = (await mine.until(named("presence.changed")))[-1]
        assert latest(second) == {b1.id: ("not_ready", None), b2.id: ("inactive", "short_break")}
        await asyncio.sleep(1.1)  # room for a third frame, if the second had not carried all
        code = await sentinel(api)
        await mine.until(reason(code))
        (at_first, _), (at_second, _) = frames = mine.presence()
        assert len(frames) == 2 and at_second - at_first >= 0.9

        # The picker closes.
        answer = await mine.subscribe({})
        await go(api, b1, "active")
        code = await sentinel(api)
        got = await mine.until(reason(code))
        assert names(got, about(b1)) == [] and len(mine.presence()) == 2
        assert answer["data"]["subscription"]["presence"] == "teams"


async def test_a_bad_subscription_is_refused_naming_what_was_wrong_and_changes_nothing(api: Api) -> None:
    """At open: closed with 4400 and a reason naming the field. On an open stream: a
    `stream.error` frame naming it, and the stream goes on as it was subscribed."""
    supervisor = await api.person("supervisor", team="a")
    a1 = await ready_agent(api, "a")
    b1 = await ready_agent(api, "b")
    for subscription, field in (
        ('{"teams": 5}', "subscribe.teams"),
        ('{"teams": [""]}', "subscribe.teams[0]"),
        ('{"presence": "some"}', "subscribe.presence"),
        ('{"queue": "yes"}', "subscribe.queue"),
        ('{"colour": "red"}', "subscribe"),
        ('["a"]', "subscribe"),
        ("teams=a", "subscribe"),
    ):
        query = f"token={supervisor.token}&subscribe={quote(subscription)}"
        async with connect(f"ws://{api.address}/api/v1/events?{query}", open_timeout=TIMEOUT) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), TIMEOUT)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4400, subscription
        assert closed.value.rcvd.reason.startswith(f"{field}: "), (subscription, closed.value.rcvd.reason)

    async with page(api, supervisor, {"teams": ["a"]}) as shown:
        await shown.say({"subscribe": {"teams": "everyone", "presence": "all"}})
        error = (await shown.until(named("stream.error")))[-1]["data"]
        assert error["code"] == "invalid" and error["field"] == "subscribe.teams", error
        assert "everyone" in error["message"] or "array" in error["message"], error
        await shown.say("not a message")  # neither is a subscription: ignored, as before
        await shown.say({"type": "something else"})
        await go(api, b1, "not_ready")
        await go(api, a1, "not_ready")
        code = await sentinel(api)
        got = await shown.until(reason(code))
    assert names(got, about(a1)) == ["agent.status_changed"] and names(got, about(b1)) == []
    assert [f["name"] for _, f in shown.notes] == ["stream.ready", "stream.error"]


# -- resuming ---------------------------------------------------------------------------------


async def test_resuming_with_after_gives_the_missed_events_the_subscription_selects(api: Api) -> None:
    """Reconnecting with `after=` and the same subscription, a page gets exactly the events
    it would have received live (a team's page, an agent's with the picker open, an admin's
    whole floor); other teams' presence comes as one `presence.changed` before
    `stream.ready`, carrying each changed agent's latest change."""
    supervisor = await api.person("supervisor", team="a")
    me = await logged_in(api, "a")
    a1 = await ready_agent(api, "a")
    b1 = await ready_agent(api, "b")
    picker = {"presence": "all"}
    floor = {"teams": "all", "queue": True}  # an admin's supervisor page
    start = api.service.last_event_id
    async with (
        page(api, supervisor, OWN_TEAM_AND_QUEUE) as sup,
        page(api, me, picker) as mine,
        page(api, api.admin, floor) as whole,
    ):
        await go(api, a1, "inactive", "lunch")
        await go(api, b1, "not_ready")
        await api.json(api.admin, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
        await go(api, b1, "inactive", "meeting")
        await go(api, me, "active")  # takes the queued thread: one's own events
        code = await sentinel(api)
        for live in (sup, mine, whole):
            await live.until(reason(code))
    pages = ((supervisor, sup, OWN_TEAM_AND_QUEUE), (me, mine, picker), (api.admin, whole, floor))
    for who, live, subscription in pages:
        async with page(api, who, subscription, after=start) as again:
            # Over the span the live streams watched (an agent's own stream opens and closes
            # around it: S8 agent.connected, agent.disconnected).
            watched = range(live.live[0]["id"], live.last_id + 1)
            assert [e for e in again.backlog if e["id"] in watched] == live.live, who.username
            caught_up = [latest(f) for _, f in again.presence()]
            changed = {a1.id: ("inactive", "lunch"), b1.id: ("inactive", "meeting")}  # a1 too: `me` takes no team
            assert caught_up == ([changed] if who is me else [])
    assert names(sup.live, about(b1)) == []
    assert "thread.assigned" in names(mine.live)
    assert names(whole.live, about(b1)) == ["agent.status_changed"] * 2  # every team's, each change


# -- several instances --------------------------------------------------------------------------


# Two instances in this process: on the worker that takes every test of this kind.
@pytest.mark.xdist_group(instances.IN_PROCESS)
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_follower_filters_the_streams_it_serves_live_and_resumed(two: tuple[Api, Api]) -> None:
    """Under several instances a page's stream on a follower is selected there, from the
    events Redis and the journal bring: the same narrowing, coalescing and resume."""
    owner, follower = two
    supervisor = await owner.person("supervisor", team="a")
    me = await logged_in(owner, "a")
    a1 = await ready_agent(owner, "a")
    b1 = await ready_agent(owner, "b")
    start = owner.ctx.node.last_event_id
    async with page(follower, supervisor, OWN_TEAM_AND_QUEUE) as sup, page(follower, me, {}) as mine:
        await go(owner, a1, "inactive", "lunch")
        await go(owner, b1, "not_ready")
        await mine.until(reason(await sentinel(owner)))  # this follower has passed b1's change
        await mine.subscribe({"presence": "all"})
        await go(owner, b1, "inactive", "meeting")
        code = await sentinel(owner)
        await sup.until(reason(code))
        await mine.until(reason(code))
        if not mine.presence():  # sent after the sentinel when both came in one batch
            await mine.until(named("presence.changed"))
    assert names(sup.live, about(a1)) == ["agent.status_changed"] and names(sup.live, about(b1)) == []
    assert [latest(f) for _, f in mine.presence()] == [{b1.id: ("inactive", "meeting")}]
    watched = range(start + 1, sup.last_id + 1)
    async with page(follower, supervisor, OWN_TEAM_AND_QUEUE, after=start) as again:
        assert [e for e in again.backlog if e["id"] in watched] == [e for e in sup.live if e["id"] in watched]


def chat_ids(frames: list[Frame]) -> list[int]:
    return [f["data"]["id"] for f in frames if f["name"] == "chat.message"]


@pytest.mark.xdist_group(instances.IN_PROCESS)
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_c1_chat_travels_between_instances_as_every_event_does(two: tuple[Api, Api]) -> None:
    """A message written on a follower is applied by the owner (forwarded whole), reaches the
    pages of its two people on either instance, live and resumed, and no one else's."""
    owner, follower = two
    ann, bob = await owner.person("agent", team="a"), await owner.person("agent", team="a")
    cat = await owner.person("agent", team="b")
    start = owner.ctx.node.last_event_id
    async with (
        page(owner, bob, {}) as on_owner,
        page(follower, ann, {}) as on_follower,
        page(follower, cat, {}) as other,
    ):
        body = {"to_user_id": bob.id, "text": "written on the follower"}
        sent = await follower.json(ann, "POST", "/chat/messages", body, expect=201)
        await on_owner.until(named("chat.message"))
        body = {"conversation_id": sent["conversation_id"], "text": "answered on the owner"}
        reply = await owner.json(bob, "POST", "/chat/messages", body, expect=201)
        await on_follower.until(lambda f: f["name"] == "chat.message" and f["data"]["id"] == reply["id"])
        code = await sentinel(owner)
        await other.until(reason(code))
    assert chat_ids(on_owner.live) == [sent["id"]]
    assert chat_ids(on_follower.live) == [sent["id"], reply["id"]]
    assert chat_ids(other.live) == []
    history = await follower.json(bob, "GET", f"/chat/conversations/{sent['conversation_id']}/messages", expect=200)
    assert [m["text"] for m in history["items"]] == ["answered on the owner", "written on the follower"]
    async with page(follower, bob, {}, after=start) as resumed, page(follower, cat, {}, after=start) as missed:
        assert chat_ids(resumed.backlog) == [sent["id"], reply["id"]]
        assert chat_ids(missed.backlog) == []
