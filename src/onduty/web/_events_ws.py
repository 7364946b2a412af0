"""The live event stream: `GET /api/v1/events?ticket=…&after=<last id>` (WebSocket).

Pages sign in with a single-use ticket, programs with their token (routes_events.py).

A client that reconnects with the last id it saw gets everything it missed
from the journal, then live events, with no gap and no duplicate: we
subscribe before reading the backlog and skip live events already sent. Each
user receives only what their role and team may see. A stream lasts no longer than the
session (token) it was opened for: signing out closes it with 4401 (service/stream_sessions.py).

One status change may go to thousands of dashboards, so the live path is
lean: each event is encoded to JSON once for all of them (`WireTexts`), and a
client's task wakes once per published batch and sends what it may see (no
task, queue or `asyncio.wait` per event). What remains per client and event
is the WebSocket frame itself (compression, framing, one write).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.serialization import encode_json

from onduty.journal import StoredEvent
from onduty.service.accounts import User
from onduty.service.connections import INPUT_EVERY, AgentStreams
from onduty.service.fanout import Subscription
from onduty.service.stream_sessions import OpenStream
from onduty.timefmt import iso
from onduty.web.context import context_of
from onduty.web.routes_events import stream_caller
from onduty.web.schemas import MAX_BIG_ID

BACKLOG_PAGE = 1000
CLOSE_UNAUTHORIZED = 4401  # no credential, a bad one, or its session ended (signed out)
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_SLOW = 4408
CLOSE_UNAVAILABLE = 1013  # try again later
CLOSE_SERVER_RESTART = 1012  # what uvicorn tells every client when the server stops
WIRE_CACHE_SIZE = 4096
WIRE_CACHE_KEY = "onduty_event_texts"
SESSION_ENDED = "signed out: the session this stream belonged to ended; sign in again"


def may_see(user: User, event: StoredEvent) -> bool:
    scope = event.scope
    if user.role == "admin":
        return True
    if user.role == "integration":
        return "thread" in scope  # the channel carrying conversations to and from clients
    if user.role == "supervisor":
        return bool(scope.get("public") or user.team in scope.get("teams", ()) or scope.get("queue"))
    return user.id in scope.get("agents", ()) or bool(scope.get("public"))


def wire(event: StoredEvent) -> dict[str, Any]:
    return {"id": event.id, "name": event.name, "at": iso(event.at), "data": event.data}


class WireTexts:
    """Each event's JSON text, encoded once for all the clients it goes to (2,000
    dashboards receive the same status change). A bounded memo by event id: ids are
    unique within a database, and an app serves one database."""

    def __init__(self, size: int = WIRE_CACHE_SIZE) -> None:
        self._size = size
        self._texts: dict[int, str] = {}

    def text(self, event: StoredEvent) -> str:
        text = self._texts.get(event.id)
        if text is None:
            text = encode_json(wire(event)).decode()
            texts = self._texts
            if len(texts) >= self._size:
                del texts[next(iter(texts))]  # the oldest entry
            texts[event.id] = text
        return text


def wire_texts(socket: WebSocket[Any, Any, Any]) -> WireTexts:
    state = socket.app.state
    texts: WireTexts | None = state.get(WIRE_CACHE_KEY)
    if texts is None:
        texts = WireTexts()
        state[WIRE_CACHE_KEY] = texts
    return texts


@websocket("/events")
async def events(socket: WebSocket[Any, Any, Any]) -> None:
    ctx = context_of(socket)
    await socket.accept()
    opened = await stream_caller(socket, ctx)  # a ticket, the Authorization header, or ?token=
    if isinstance(opened, str):
        await socket.close(CLOSE_UNAUTHORIZED, opened)
        return
    user, session = opened
    try:
        if session.ended:  # signed out while the credential was being checked
            await _close_ended(socket)
            return
        await _serve(socket, user, session)
    finally:
        session.close()


async def _serve(socket: WebSocket[Any, Any, Any], user: User, session: OpenStream) -> None:
    ctx = context_of(socket)
    after_raw = socket.query_params.get("after")
    if after_raw is not None and not _is_event_id(after_raw):
        await socket.close(CLOSE_BAD_REQUEST, f"after must be the id of the last event you saw, from 0 to {MAX_BIG_ID}")
        return
    node = ctx.node
    agent_id = user.id if user.role == "agent" else None
    if agent_id is not None:
        try:
            await ctx.streams.opened(agent_id)  # S8: recorded before anything is sent
        except Exception:
            await socket.close(CLOSE_UNAVAILABLE, "the service could not record this connection; connect again")
            return
    subscription = node.fanout.subscribe()
    session.on_end(subscription.interrupt)  # a sign-out wakes us
    node.metrics.connected_clients.inc()
    gone = _Gone()
    try:
        last = int(after_raw) if after_raw is not None else node.last_event_id
        texts = wire_texts(socket)
        while not session.ended:  # what the client missed
            page = await ctx.reads.events_after(last, BACKLOG_PAGE)
            for event in page:
                if session.ended:
                    break
                if may_see(user, event):
                    await socket.send_text(texts.text(event))
                last = event.id
            if len(page) < BACKLOG_PAGE:
                break
        if session.ended:
            await _close_ended(socket)
            return
        await socket.send_json({"id": None, "name": "stream.ready", "at": iso(node.now()), "data": {"last_id": last}})
        await _live(
            socket, user, session, subscription, texts, last, ctx.streams if agent_id is not None else None, gone
        )
    except WebSocketDisconnect as disconnect:
        gone.code = disconnect.code
    finally:
        subscription.close()
        node.metrics.connected_clients.dec()
        if agent_id is not None:
            # The code alone would not do: a client may send 1012 too, and would then stay
            # "connected" for ever.
            if gone.code == CLOSE_SERVER_RESTART and socket.app.state.stopping():
                # The server is stopping, not the agent leaving: they stay connected in the
                # record, and the next start gives everyone connected a whole grace (S8).
                ctx.streams.forget(agent_id)
            else:
                # Left, cut off, or its session ended (signed out): a stream fewer (S8).
                await ctx.streams.closed(agent_id)


async def _close_ended(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.close(CLOSE_UNAUTHORIZED, SESSION_ENDED)


async def _live(
    socket: WebSocket[Any, Any, Any],
    user: User,
    session: OpenStream,
    subscription: Subscription,
    texts: WireTexts,
    last: int,
    streams: AgentStreams | None,
    gone: _Gone,
) -> None:
    listener = asyncio.create_task(_listen(socket, user, streams, gone))
    listener.add_done_callback(lambda _: subscription.interrupt())  # a client that leaves wakes us
    try:
        while True:
            events = await subscription.batch()
            if session.ended:
                await _close_ended(socket)
                return
            if subscription.interrupted:
                return
            if events is None:
                await socket.close(CLOSE_TOO_SLOW, "fell too far behind; reconnect with ?after=<last id>")
                return
            for event in events:
                if event.id > last:
                    if session.ended:  # nothing more once signed out, not even the rest of a batch
                        break
                    if may_see(user, event):
                        await socket.send_text(texts.text(event))
                    last = event.id
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await listener


@dataclass(slots=True)
class _Gone:
    code: int | None = None  # how the connection closed, once it has


async def _listen(socket: WebSocket[Any, Any, Any], user: User, streams: AgentStreams | None, gone: _Gone) -> None:
    """Until the client leaves. An agent's page may say `{"type": "input"}` (S8 idle_timeout),
    passed on at most once per INPUT_EVERY seconds; anything else a client sends is ignored."""
    last_input = float("-inf")
    try:
        while True:
            text = await socket.receive_data("text")
            if streams is None or not _is_input(text):
                continue
            now = time.monotonic()
            if now - last_input >= INPUT_EVERY:
                last_input = now
                await streams.input(user.id)
    except WebSocketDisconnect as disconnect:
        gone.code = disconnect.code


def _is_input(text: str) -> bool:
    try:
        message = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return False
    return isinstance(message, dict) and message.get("type") == "input"


def _is_event_id(raw: str) -> bool:
    """Plain ASCII digits within the journal's BIGINT ("²" passes isdigit)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_BIG_ID)) and int(raw) <= MAX_BIG_ID
