"""Signing out ends the session's event streams: the ones opened with its token and the ones
opened with a ticket it asked for close at once with 4401 and carry nothing more; the
same user's other sessions and other users' streams go on. For S8 such a close is a
stream closing like any other. Against a real server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from onduty.service.auth import token_hash
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.integration.api_client import Api, Person

TIMEOUT = 5.0
PASSWORD = "a long enough password"


def events_url(api: Api, query: str) -> str:
    return f"ws://{api.address}/api/v1/events?{query}"


async def next_event(socket: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
    return event


async def ready(socket: ClientConnection) -> None:
    while (await next_event(socket))["name"] != "stream.ready":
        pass


async def closed_with(socket: ClientConnection) -> tuple[int, str]:
    """How the server closes this stream; fails if anything else arrives first."""
    try:
        event = await next_event(socket)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason
    pytest.fail(f"an event after sign-out: {event}")


async def second_session(api: Api, who: Person) -> str:
    answer = await api.json(None, "POST", "/auth/token", {"username": who.username, "password": PASSWORD}, expect=200)
    token: str = answer["token"]
    return token


async def status_changed_to(socket: ClientConnection, agent_id: int, reason: str) -> None:
    while True:
        event = await next_event(socket)
        data = event["data"]
        if event["name"] == "agent.status_changed" and (data["agent_id"], data["to_reason"]) == (agent_id, reason):
            return


async def test_signing_out_closes_the_sessions_streams_with_4401_and_only_those(api: Api) -> None:
    agent = await api.person("agent", team="a", password=PASSWORD)
    await api.call(agent, "POST", "/me/login", expect=200)
    supervisor = await api.person("supervisor", team="a")
    other_token = await second_session(api, agent)
    ticket = (await api.json(agent, "POST", "/events/ticket", expect=200))["ticket"]
    unused_ticket = (await api.json(agent, "POST", "/events/ticket", expect=200))["ticket"]
    by_token = await connect(events_url(api, f"token={agent.token}"), open_timeout=TIMEOUT)
    by_ticket = await connect(events_url(api, f"ticket={ticket}"), open_timeout=TIMEOUT)
    other_session = await connect(events_url(api, f"token={other_token}"), open_timeout=TIMEOUT)
    watching = await connect(
        events_url(api, ""), additional_headers={"Authorization": f"Bearer {supervisor.token}"}, open_timeout=TIMEOUT
    )
    try:
        for socket in (by_token, by_ticket, other_session, watching):
            await ready(socket)
        assert api.ctx.streams.count(agent.id) == 3

        await api.call(agent, "POST", "/auth/logout", expect=204)
        # Something happens at once: the signed-out streams must not carry it.
        other = Person(agent.id, agent.username, "agent", other_token, agent.team)
        await api.call(other, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)

        for socket in (by_token, by_ticket):
            code, reason = await asyncio.wait_for(closed_with(socket), TIMEOUT)
            assert code == 4401
            assert "signed out" in reason
        await status_changed_to(other_session, agent.id, "lunch")  # the same user's other session
        await status_changed_to(watching, agent.id, "lunch")  # someone else's stream
        assert api.ctx.streams.count(agent.id) == 1
        assert len(api.ctx.open_streams) == 2

        # A ticket the ended session asked for opens nothing any more.
        async with connect(events_url(api, f"ticket={unused_ticket}"), open_timeout=TIMEOUT) as late:
            code, reason = await closed_with(late)
        assert code == 4401
        assert "ended" in reason
    finally:
        for socket in (by_token, by_ticket, other_session, watching):
            await socket.close()


async def test_s8_a_stream_closed_by_sign_out_counts_as_closing(api: Api) -> None:
    """S8: the last stream of an agent closed because its session ended is a disconnect (the
    grace starts), not a server stop."""
    agent = await api.person("agent", team="a")
    await api.call(agent, "POST", "/me/login", expect=200)
    async with connect(events_url(api, f"token={agent.token}"), open_timeout=TIMEOUT) as socket:
        await ready(socket)
        assert (await api.json(api.admin, "GET", f"/agents/{agent.id}", expect=200))["connected"] is True
        await api.call(agent, "POST", "/auth/logout", expect=204)
        assert (await closed_with(socket))[0] == 4401
    for _ in range(100):
        row = await api.json(api.admin, "GET", f"/agents/{agent.id}", expect=200)
        if not row["connected"]:
            break
        await asyncio.sleep(0.05)
    assert row["connected"] is False
    assert row["disconnect_deadline"] is not None
    assert api.ctx.streams.count(agent.id) == 0


async def test_a_session_ended_elsewhere_ends_here_within_a_second(api: Api) -> None:
    """Revoked through another store on the same database (as another instance does): the
    server reads the record of sessions ended each second, drops the token it has cached and
    closes the session's streams with 4401; the same user's other session goes on."""
    supervisor = await api.person("supervisor", team="a", password=PASSWORD)
    other = Person(supervisor.id, supervisor.username, "supervisor", await second_session(api, supervisor), "a")
    await api.call(supervisor, "GET", "/me", expect=200)  # cached
    signed_out = await connect(events_url(api, f"token={supervisor.token}"), open_timeout=TIMEOUT)
    going_on = await connect(events_url(api, f"token={other.token}"), open_timeout=TIMEOUT)
    elsewhere = SqlStore(api.store.db)
    try:
        for socket in (signed_out, going_on):
            await ready(socket)
        await UserStore(elsewhere).revoke_token(token_hash(supervisor.token))
        code, reason = await asyncio.wait_for(closed_with(signed_out), 2.0)
        assert (code, "signed out" in reason) == (4401, True)
        await api.call(supervisor, "GET", "/me", expect=401)
        await api.call(other, "GET", "/me", expect=200)
        assert len(api.ctx.open_streams) == 1
    finally:
        for socket in (signed_out, going_on):
            await socket.close()
        await elsewhere.close()
