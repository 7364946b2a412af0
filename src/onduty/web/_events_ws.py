"""The live event stream: `GET /api/v1/events?ticket=…&after=<last id>` (WebSocket).

Pages sign in with a single-use ticket, programs with their token (routes_events.py).

A client that reconnects with the last id it saw gets everything it missed
from the journal, then live events, with no gap and no duplicate: we
subscribe before reading the backlog and skip live events already sent. Each
user receives only what their role and team may see. A stream lasts no longer than the
session (token) it was opened for: signing out closes it with 4401 (service/stream_sessions.py).

A page may say what it shows (`?subscribe=` at open, `{"subscribe": …}` later:
web/_stream_subscribe.py); the stream then sends only that, and other teams' presence,
if asked, coalesced into one `presence.changed` frame a second at most. What each event
is for this stream is decided once, as it is offered to the stream's subscription
(service/stream_filter.py `selector`), and the backlog goes through the same function.

One status change may go to thousands of dashboards, so the live path is
lean: each event is encoded to JSON once for all of them (`WireTexts`), and a
client's task wakes once per published batch and sends what it may see (no
task, queue or `asyncio.wait` per event); a client that takes nothing of a batch is not
woken. What remains per client and event is the WebSocket frame itself (compression,
framing, one write).

Every frame goes out from the stream's one task (`_Live`), replies to the client's
messages included, so that frames never interleave and a new subscription takes effect
at a precise event id (`stream.subscribed` says which).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.serialization import encode_json

from onduty.journal import StoredEvent
from onduty.service.accounts import User
from onduty.service.connections import INPUT_EVERY, AgentStreams
from onduty.service.fanout import NOW, Subscription
from onduty.service.stream_filter import Selection, selector
from onduty.service.stream_sessions import OpenStream
from onduty.timefmt import iso
from onduty.web import _stream_subscribe as subscribe
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
PRESENCE_EVERY = 1.0  # seconds: at most one `presence.changed` frame a second per stream
MAX_CLOSE_REASON = 123  # bytes of UTF-8 a close frame's reason may hold (RFC 6455)


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
    asked = _asked(socket)
    if isinstance(asked, str):
        await socket.close(CLOSE_BAD_REQUEST, _close_reason(asked))
        return
    after, selection = asked
    node = ctx.node
    agent_id = user.id if user.role == "agent" else None
    if agent_id is not None:
        try:
            await ctx.streams.opened(agent_id)  # S8: recorded before anything is sent
        except Exception:
            await socket.close(CLOSE_UNAVAILABLE, "the service could not record this connection; connect again")
            return
    subscription = node.fanout.subscribe()
    subscription.select = selector(user, selection)
    session.on_end(subscription.interrupt)  # a sign-out wakes us
    node.metrics.connected_clients.inc()
    gone = _Gone()
    try:
        last = after if after is not None else node.last_event_id
        texts = wire_texts(socket)
        last, kept = await _replay(socket, session, subscription, texts, last)
        if session.ended:
            await _close_ended(socket)
            return
        live = _Live(socket, user, session, subscription, texts, last, node.now)
        await live.send_presence(kept)
        ready = {"last_id": last, "subscription": subscribe.view(selection)}
        await socket.send_json({"id": None, "name": "stream.ready", "at": iso(node.now()), "data": ready})
        await live.run(ctx.streams if agent_id is not None else None, gone)
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


def _asked(socket: WebSocket[Any, Any, Any]) -> tuple[int | None, Selection | None] | str:
    """`?after=` and `?subscribe=`, or what is wrong with them."""
    query = socket.query_params
    after = query.get("after")
    if after is not None and not _is_event_id(after):
        return f"after must be the id of the last event you saw, from 0 to {MAX_BIG_ID}"
    text = query.get("subscribe")
    try:
        selection = subscribe.parse_text(text) if text is not None else None
    except subscribe.BadSubscription as bad:
        return str(bad)
    return (int(after) if after is not None else None), selection


async def _replay(
    socket: WebSocket[Any, Any, Any], session: OpenStream, subscription: Subscription, texts: WireTexts, last: int
) -> tuple[int, list[StoredEvent]]:
    """What the client missed, after `last`, selected as the live events are: the last id
    read, and the presence to coalesce (each agent's latest change)."""
    ctx = context_of(socket)
    select = subscription.select
    assert select is not None
    kept: dict[int, StoredEvent] = {}
    while not session.ended:
        page = await ctx.reads.events_after(last, BACKLOG_PAGE)
        for event in page:
            if session.ended:
                break
            key = select(event)
            if key == NOW:
                await socket.send_text(texts.text(event))
            elif key is not None:
                kept[key] = event
            last = event.id
        if len(page) < BACKLOG_PAGE:
            break
    return last, sorted(kept.values(), key=_event_id)


async def _close_ended(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.close(CLOSE_UNAUTHORIZED, SESSION_ENDED)


def _close_reason(text: str) -> str:
    return text.encode()[:MAX_CLOSE_REASON].decode(errors="ignore")


def _event_id(event: StoredEvent) -> int:
    return event.id


class _Live:
    """The stream once its backlog is sent: live events, the coalesced presence, and the
    replies to what the client says, all sent from this one task."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        user: User,
        session: OpenStream,
        subscription: Subscription,
        texts: WireTexts,
        last: int,
        clock: Callable[[], float],
    ) -> None:
        self.socket = socket
        self.clock = clock  # the service's: what `at` says
        self.user = user
        self.session = session
        self.subscription = subscription
        self.texts = texts
        self.last = last  # the last event id this stream sent or passed over
        self.replayed = last  # the backlog's end: coalesced presence up to it was sent with it
        self.said: deque[Selection | subscribe.BadSubscription] = deque()  # the client's, not yet answered
        self._presence_at = 0.0  # the loop's time before which no presence frame goes out
        self._timer: asyncio.TimerHandle | None = None

    async def run(self, streams: AgentStreams | None, gone: _Gone) -> None:
        subscription = self.subscription
        listener = asyncio.create_task(_listen(self, streams, gone))
        listener.add_done_callback(lambda _: subscription.interrupt())  # a client that leaves wakes us
        try:
            while True:
                events = await subscription.batch()
                if self.session.ended:
                    await _close_ended(self.socket)
                    return
                if subscription.interrupted:
                    return
                if events is None:
                    await self.socket.close(CLOSE_TOO_SLOW, "fell too far behind; reconnect with ?after=<last id>")
                    return
                replies = self._answer() if self.said else ()
                await self._send(events)
                for reply in replies:
                    await self.socket.send_json(reply)
                if subscription.holds_latest:
                    await self._presence()
        finally:
            if self._timer is not None:
                self._timer.cancel()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await listener

    async def _send(self, events: list[StoredEvent]) -> None:
        last = self.last
        for event in events:
            if event.id > last:
                if self.session.ended:  # nothing more once signed out, not even the rest of a batch
                    break
                await self.socket.send_text(self.texts.text(event))
                last = event.id
        self.last = last

    def _answer(self) -> list[dict[str, Any]]:
        """Applies what the client said, in order, before anything is sent (no await here):
        events offered from now on are selected by the new subscription, those already in
        hand by the old one. Returns the replies, to send after the events in hand."""
        subscription = self.subscription
        at = iso(self.clock())
        replies: list[dict[str, Any]] = []
        while self.said:
            said = self.said.popleft()
            if isinstance(said, subscribe.BadSubscription):
                error: dict[str, Any] = {"code": "invalid", "message": said.message, "field": said.field}
                replies.append({"id": None, "name": "stream.error", "at": at, "data": error})
                continue
            subscription.select = selector(self.user, said)
            if not said.presence_all:
                subscription.take_latest()  # the page no longer shows other teams' presence
            # Everything after this id is the new subscription's, whatever this batch held.
            through = max(self.last, subscription.offered_through)
            data = {"last_id": through, "subscription": subscribe.view(said)}
            replies.append({"id": None, "name": "stream.subscribed", "at": at, "data": data})
        return replies

    async def _presence(self) -> None:
        """The presence kept since the last frame, now, or once a second has passed since it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now < self._presence_at:
            if self._timer is None:
                self._timer = loop.call_later(self._presence_at - now, self._presence_due)
            return
        await self.send_presence([e for e in self.subscription.take_latest() if e.id > self.replayed])

    def _presence_due(self) -> None:
        self._timer = None
        self.subscription.nudge()

    async def send_presence(self, events: list[StoredEvent]) -> None:
        if events:
            await self.socket.send_json(subscribe.presence_changed(events))
            self._presence_at = asyncio.get_running_loop().time() + PRESENCE_EVERY


@dataclass(slots=True)
class _Gone:
    code: int | None = None  # how the connection closed, once it has


async def _listen(live: _Live, streams: AgentStreams | None, gone: _Gone) -> None:
    """Until the client leaves. A client may send `{"subscribe": {…}}` (handed to the
    stream's task, which answers it), and an agent's page `{"type": "input"}` (S8
    idle_timeout, passed on at most once per INPUT_EVERY seconds); anything else a client
    sends is ignored."""
    last_input = float("-inf")
    try:
        while True:
            message = _decoded(await live.socket.receive_data("text"))
            if message is None:
                continue
            if "subscribe" in message:
                try:
                    live.said.append(subscribe.parse(message["subscribe"]))
                except subscribe.BadSubscription as bad:
                    live.said.append(bad)
                live.subscription.nudge()
            elif streams is not None and message.get("type") == "input":
                now = time.monotonic()
                if now - last_input >= INPUT_EVERY:
                    last_input = now
                    await streams.input(live.user.id)
    except WebSocketDisconnect as disconnect:
        gone.code = disconnect.code


def _decoded(text: str) -> dict[str, Any] | None:
    try:
        message = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    return message if isinstance(message, dict) else None


def _is_event_id(raw: str) -> bool:
    """Plain ASCII digits within the journal's BIGINT ("²" passes isdigit)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_BIG_ID)) and int(raw) <= MAX_BIG_ID
