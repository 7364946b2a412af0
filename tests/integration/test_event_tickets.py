"""Opening the event stream without a token in its URL: `POST /events/ticket` gives a
single-use ticket, valid 30 s, for `GET /events?ticket=…` (API.md, "Presence, the
floor, chat, several instances"). Programs may still send `Authorization: Bearer` on
the upgrade, or `?token=`. Against a real server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from onduty.service.clock import ManualClock
from onduty.storage.database import Database
from onduty.storage.tickets import PER_HOLDER, TICKET_SECONDS
from onduty.timefmt import parse_iso
from tests.integration.api_client import Api, Person
from tests.integration.conftest import RunningServer

TIMEOUT = 5.0


async def ticket_for(api: Api, who: Person) -> str:
    answer = await api.json(who, "POST", "/events/ticket", expect=200)
    assert set(answer) == {"ticket", "expires_at"}, answer
    ticket: str = answer["ticket"]
    return ticket


def events_url(api: Api, query: str) -> str:
    return f"ws://{api.address}/api/v1/events?{query}"


async def ready(socket: ClientConnection) -> int:
    """Reads up to `stream.ready`: the stream is open, for someone the server recognised."""
    while True:
        event = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        if event["name"] == "stream.ready":
            last_id: int = event["data"]["last_id"]
            return last_id


async def refused(api: Api, query: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The code and reason the server closes a stream opened with this query (and headers)."""
    return await refused_at(api.address, query, headers)


async def refused_at(address: str, query: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    url = f"ws://{address}/api/v1/events?{query}"
    async with connect(url, additional_headers=headers, open_timeout=TIMEOUT) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_ticket_is_only_for_a_signed_in_caller(api: Api) -> None:
    response = await api.call(None, "POST", "/events/ticket", expect=401)
    assert api.error(response)["code"] == "unauthorized"
    gone = await api.person("agent")
    await api.call(gone, "POST", "/auth/logout", expect=204)
    await api.call(gone, "POST", "/events/ticket", expect=401)


async def test_a_ticket_lasts_30_seconds_by_the_service_clock(api: Api) -> None:
    agent = await api.person("agent")
    answer = await api.json(agent, "POST", "/events/ticket", expect=200)
    assert answer["expires_at"].endswith("Z")
    datetime.fromisoformat(answer["expires_at"])
    assert parse_iso(answer["expires_at"]) == pytest.approx(api.clock.now() + TICKET_SECONDS, abs=0.001)
    assert answer["ticket"] != agent.token and agent.token not in answer["ticket"]


async def test_a_ticket_opens_the_stream_once_and_only_once(api: Api) -> None:
    agent = await api.person("agent", team="a")
    ticket = await ticket_for(api, agent)
    async with connect(events_url(api, f"ticket={ticket}&after=0"), open_timeout=TIMEOUT) as socket:
        assert await ready(socket) == api.service.last_event_id
        assert api.ctx.streams.count(agent.id) == 1  # the stream is the agent's (S8 counts it)
    code, reason = await refused(api, f"ticket={ticket}")
    assert code == 4401
    assert "used already" in reason
    # A second ticket opens a second stream.
    async with connect(events_url(api, f"ticket={await ticket_for(api, agent)}"), open_timeout=TIMEOUT) as socket:
        await ready(socket)


async def test_an_expired_ticket_is_refused(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    almost = await ticket_for(api, supervisor)
    late = await ticket_for(api, supervisor)
    api.clock.advance(TICKET_SECONDS - 1)
    async with connect(events_url(api, f"ticket={almost}"), open_timeout=TIMEOUT) as socket:
        await ready(socket)
    api.clock.advance(1)  # exactly 30 s: over
    code, reason = await refused(api, f"ticket={late}")
    assert (code, "expired" in reason) == (4401, True), reason
    # Still refused for what it is after an issue (which sweeps the long expired).
    await ticket_for(api, supervisor)
    assert await refused(api, f"ticket={late}") == (code, reason)


async def test_an_unknown_ticket_is_refused_whatever_else_comes_with_it(api: Api) -> None:
    """A ticket brought is the only credential looked at: a good token beside a bad ticket
    does not open the stream."""
    admin = api.admin
    for query in ("ticket=odst_not-a-ticket", "ticket=", f"ticket=nope&token={admin.token}"):
        code, reason = await refused(api, query, {"Authorization": f"Bearer {admin.token}"})
        assert code == 4401, query
        assert "unknown ticket" in reason, reason


async def test_a_program_opens_the_stream_with_the_authorization_header(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    headers = {"Authorization": f"Bearer {supervisor.token}"}
    async with connect(events_url(api, "after=0"), additional_headers=headers, open_timeout=TIMEOUT) as socket:
        assert await ready(socket) == api.service.last_event_id
    for bad in ("Bearer not-a-token", "Basic cm9vdDpyb290", "Bearer "):
        code, _ = await refused(api, "", {"Authorization": bad})
        assert code == 4401, bad


async def test_a_program_may_still_send_its_token_in_the_query(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    async with connect(events_url(api, f"token={supervisor.token}&after=0"), open_timeout=TIMEOUT) as socket:
        assert await ready(socket) == api.service.last_event_id
    code, reason = await refused(api, "")
    assert code == 4401
    assert "ticket" in reason  # says how to connect


async def test_unused_tickets_are_bounded_per_person(api: Api) -> None:
    """A client cannot fill the server's memory with tickets: beyond a few unused ones each,
    429 until one is used or expires."""
    agent = await api.person("agent")
    other = await api.person("agent")
    tickets = [await ticket_for(api, agent) for _ in range(PER_HOLDER)]
    response = await api.call(agent, "POST", "/events/ticket", expect=429)
    assert api.error(response)["code"] == "too_many_requests"
    await ticket_for(api, other)  # someone else's are their own
    async with connect(events_url(api, f"ticket={tickets[0]}"), open_timeout=TIMEOUT) as socket:
        await ready(socket)
    await ticket_for(api, agent)  # one used: room for one more
    await api.call(agent, "POST", "/events/ticket", expect=429)
    api.clock.advance(TICKET_SECONDS)
    await ticket_for(api, agent)  # the rest expired


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_ticket_from_one_instance_opens_the_stream_on_another_once(database: Database) -> None:
    """Several instances behind one address, no sticky sessions: the page's ticket may be
    asked of one instance and its stream opened on another; once, on either; and not at all
    once its session has signed out, wherever that was. A supervisor:
    an agent's stream records S8's connection through the instance's own service, which
    here is not the owner of the workspace."""
    clock = ManualClock()
    issuing, other = RunningServer(database, clock), RunningServer(database, clock)
    async with issuing as address, Api(address, issuing.app, clock) as api, other as other_address:
        supervisor = await api.person("supervisor", team="a")
        ticket = await ticket_for(api, supervisor)
        url = f"ws://{other_address}/api/v1/events?ticket={ticket}"
        async with connect(url, open_timeout=TIMEOUT) as socket:
            await ready(socket)
        for instance in (other_address, address):
            code, reason = await refused_at(instance, f"ticket={ticket}")
            assert (code, "used already" in reason) == (4401, True), reason
        # Signed out on one instance, the session's unused ticket opens nothing on the other.
        unused = await ticket_for(api, supervisor)
        await api.call(supervisor, "POST", "/auth/logout", expect=204)
        code, reason = await refused_at(other_address, f"ticket={unused}")
        assert (code, "ended" in reason) == (4401, True), reason
