"""Fan-out between instances: Redis pub/sub carries the events, the journal fills the gaps.

Every instance that shares a database runs a `RedisFanOut` on the same Redis
channel (one per workspace, `onduty:events:<workspace>`). Its local
subscribers (this instance's WebSocket clients) receive every committed
event, whichever instance committed it, in id order, exactly once:

- `publish` (the producer, after its commit) hands the batch to this
  instance's subscribers at once, then queues it for Redis: one message per
  batch (a chunk of at most `MAX_EVENTS_PER_MESSAGE`), msgpack, with the
  batch's first and last ids up front so that a receiver drops what it has
  without decoding the events (its own echo, most often).
- A listener task is subscribed to the channel; what it receives goes
  through `InOrderDelivery` (service/_in_order.py), which drops ids already
  handed on and fills a gap from the PostgreSQL journal before what follows
  it. The rule that makes a gap safe, holes from rolled-back transactions
  included: committed events are in the journal before they are published,
  and ids commit in increasing order (one writer per workspace), so the
  journal up to a received batch's first id is authoritative; an id it lacks
  will never exist. Every (re)subscription, and every `poll_every` seconds
  of silence, the journal is read from the last id handed on to its end:
  pub/sub keeps nothing for a subscriber that was away.
- Redis away never fails the commit path: `publish` only appends to a
  bounded outbox that a sender task drains (a failed PUBLISH is retried
  once on a new connection, then the outbox is dropped and logged: the
  command is committed and the other instances read it from the journal).
  The listener reconnects with capped backoff. Local delivery goes on
  meanwhile; an instance that publishes nothing itself sees other
  instances' events late (by the journal poll) until Redis is back.

Redis-py's own retries are off: a silent reconnect inside the client would
resubscribe without telling us that messages were lost. Every "subscribe"
confirmation is taken as the sign of a new subscription and starts a
journal catch-up, whoever reconnected. A connection that says nothing for
`SILENT_FOR` seconds is pinged, and dropped if it does not answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from typing import Any

import msgspec
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from onduty.journal import StoredEvent
from onduty.service._in_order import INBOX_LIMIT, JOURNAL_PAGE, POLL_EVERY, InOrderDelivery, JournalReader, backoff
from onduty.service.fanout import FanOut

log = structlog.get_logger("onduty.fanout")

CHANNEL_PREFIX = "onduty:events:"
MAX_EVENTS_PER_MESSAGE = 500  # a big batch goes as several messages: no message of megabytes
OUTBOX_BYTES = 32 * 2**20  # queued for Redis; past it, the oldest messages are dropped (the journal has them)
MAX_PIPELINE = 64  # messages sent in one round trip
CONNECT_TIMEOUT = 2.0  # seconds
COMMAND_TIMEOUT = 5.0
LISTEN_STEP = 1.0  # seconds the listener waits for a message before looking at the clock
SILENT_FOR = 5.0  # seconds without a word from Redis before the listener pings
DEAD_AFTER = 10.0  # seconds without a word (a ping unanswered) before it reconnects
RECONNECT_FIRST, RECONNECT_CAP = 0.05, 5.0  # seconds, doubling
CLOSE_WAIT = 5.0  # seconds `close` waits for its tasks

# [first id, last id, [[id, name, at, data, scope], ...]]
_WireEvent = tuple[int, str, float, dict[str, Any], dict[str, Any]]
_encoder = msgspec.msgpack.Encoder()
_header = msgspec.msgpack.Decoder(tuple[int, int, msgspec.Raw])
_body = msgspec.msgpack.Decoder(list[_WireEvent])


def encode(events: list[StoredEvent]) -> list[bytes]:
    """The messages that carry `events` (in id order), at most MAX_EVENTS_PER_MESSAGE each."""
    messages = []
    for start in range(0, len(events), MAX_EVENTS_PER_MESSAGE):
        chunk = events[start : start + MAX_EVENTS_PER_MESSAGE]
        body = [(e.id, e.name, e.at, e.data, e.scope) for e in chunk]
        messages.append(_encoder.encode((chunk[0].id, chunk[-1].id, body)))
    return messages


def decode_span(message: bytes) -> tuple[int, int, msgspec.Raw]:
    """The first and last ids a message carries, and its events still encoded."""
    return _header.decode(message)


def decode_events(body: msgspec.Raw) -> list[StoredEvent]:
    return [StoredEvent(*e) for e in _body.decode(body)]


def _no_retries() -> Retry:
    return Retry(NoBackoff(), 0)


class RedisFanOut(FanOut):
    """See the module's docstring. `start()` before use, `close()` after (or `async with`)."""

    def __init__(
        self,
        journal: JournalReader,
        redis_url: str,
        *,
        workspace: str = "default",
        channel_prefix: str = CHANNEL_PREFIX,
        name: str | None = None,
        poll_every: float = POLL_EVERY,
        journal_page: int = JOURNAL_PAGE,
        inbox_limit: int = INBOX_LIMIT,
        outbox_bytes: int = OUTBOX_BYTES,
    ) -> None:
        super().__init__()
        self.channel = f"{channel_prefix}{workspace}"
        # Its connections are named after it (CLIENT LIST shows who listens where).
        self.name = name or f"onduty-{uuid.uuid4().hex[:12]}"
        self._url = redis_url
        self._order = InOrderDelivery(
            journal, self._deliver_locally, page=journal_page, inbox_limit=inbox_limit, poll_every=poll_every
        )
        self._outbox: deque[bytes] = deque()
        self._outbox_size = 0
        self._outbox_limit = outbox_bytes
        self._outbox_ready = asyncio.Event()
        self._publisher: Redis | None = None
        self._listener: Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._listen_failures = 0  # in a row: the reconnect backoff grows with them
        # Counters, for tests and metrics.
        self.subscribed = 0  # subscriptions made (the first, then one per reconnect)
        self.published_messages = 0
        self.dropped_messages = 0  # never sent to Redis (it was away, or the outbox full)

    # -- life cycle -----------------------------------------------------------------

    async def start(self, after: int) -> None:
        """Delivers what is committed after event `after` (the journal's last id, usually):
        never waits for Redis, which may be away."""
        self._order.last = after
        options: dict[str, Any] = {
            "retry": _no_retries(),
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_keepalive": True,
        }
        self._publisher = Redis.from_url(
            self._url, client_name=f"{self.name}-pub", socket_timeout=COMMAND_TIMEOUT, **options
        )
        # No read timeout on the listener's socket: it waits for messages, and says when (LISTEN_STEP).
        self._listener = Redis.from_url(self._url, client_name=f"{self.name}-sub", **options)
        self._tasks = [
            asyncio.create_task(self._order.run(), name=f"{self.name}-delivery"),
            asyncio.create_task(self._send(self._publisher), name=f"{self.name}-send"),
            asyncio.create_task(self._listen(self._listener), name=f"{self.name}-listen"),
        ]

    async def close(self) -> None:
        # redis-py may swallow a cancellation that lands mid-command (its issues #2028, #2551):
        # the loops also stop on `_closing`, and the wait for them is bounded.
        self._closing = True
        self._outbox_ready.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=CLOSE_WAIT)
            for task in stuck:
                log.warning("fan-out: a task did not stop in time", task=task.get_name())
        for client in (self._publisher, self._listener):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._publisher = self._listener = None

    async def __aenter__(self) -> RedisFanOut:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- the FanOut interface ---------------------------------------------------------

    async def publish(self, events: list[StoredEvent]) -> None:
        if not events:
            return
        self._order.offer(events)  # this instance's subscribers first: no round trip
        for message in encode(events):
            self._outbox.append(message)
            self._outbox_size += len(message)
        while self._outbox_size > self._outbox_limit:
            self._outbox_size -= len(self._outbox.popleft())
            self.dropped_messages += 1
        self._outbox_ready.set()

    @property
    def last_delivered(self) -> int:
        """The id of the last event handed to this instance's subscribers."""
        return self._order.last

    @property
    def delivery(self) -> InOrderDelivery:
        """The ordering's counters (events from the journal, journal reads)."""
        return self._order

    def _deliver_locally(self, events: list[StoredEvent]) -> None:
        for subscription in list(self._subscriptions):
            subscription.offer_many(events)

    # -- to Redis ------------------------------------------------------------------------

    async def _send(self, redis: Redis) -> None:
        failures = 0
        while not self._closing:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox and not self._closing:
                messages = [self._outbox[i] for i in range(min(MAX_PIPELINE, len(self._outbox)))]
                try:
                    if len(messages) == 1:  # the usual case: a pipeline costs more than it saves
                        await redis.publish(self.channel, messages[0])
                    else:
                        async with redis.pipeline(transaction=False) as pipe:
                            for message in messages:
                                pipe.publish(self.channel, message)
                            await pipe.execute()
                except Exception as error:
                    failures += 1
                    if failures == 1:
                        continue  # once more, on a new connection (an idle one may have been cut)
                    dropped = len(self._outbox)
                    self.dropped_messages += dropped
                    self._outbox.clear()
                    self._outbox_size = 0
                    delay = backoff(failures - 2, RECONNECT_FIRST, RECONNECT_CAP)
                    log.warning(
                        "fan-out: Redis publish failed; the other instances read these events from the journal",
                        error=f"{type(error).__name__}: {error}",
                        dropped_messages=dropped,
                        retry_in=round(delay, 3),
                    )
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                self.published_messages += len(messages)
                for message in messages:
                    self._outbox_size -= len(message)
                    self._outbox.popleft()

    # -- from Redis -------------------------------------------------------------------

    async def _listen(self, redis: Redis) -> None:
        while not self._closing:
            delay = RECONNECT_FIRST
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                await self._read(pubsub)
            except Exception as error:
                delay = backoff(self._listen_failures, RECONNECT_FIRST, RECONNECT_CAP)
                self._listen_failures += 1
                log.warning(
                    "fan-out: Redis subscription lost",
                    error=f"{type(error).__name__}: {error}",
                    retry_in=round(delay, 3),
                )
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)

    async def _read(self, pubsub: PubSub) -> None:
        clock = asyncio.get_running_loop().time
        heard = clock()
        pinged = False
        while not self._closing:
            message = await pubsub.get_message(timeout=LISTEN_STEP)
            now = clock()
            if message is None:
                if now - heard > DEAD_AFTER:
                    raise ConnectionError(f"Redis said nothing for {DEAD_AFTER} s, a ping included")
                if now - heard > SILENT_FOR and not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            heard, pinged = now, False
            kind = message["type"]
            if kind == "message":
                self._receive(message["data"])
            elif kind == "subscribe":
                # A new subscription (ours, or the client's own reconnect): what was published
                # while nobody listened is in the journal only.
                self.subscribed += 1
                self._listen_failures = 0
                self._order.catch_up()

    def _receive(self, data: bytes) -> None:
        try:
            _, last, body = decode_span(data)
            if last <= self._order.last:
                return  # handed on already: our own echo, most often
            events = decode_events(body)
        except (msgspec.DecodeError, TypeError) as error:
            log.warning(
                "fan-out: unreadable message on the channel",
                channel=self.channel,
                error=f"{type(error).__name__}: {error}",
            )
            self._order.catch_up()
            return
        self._order.offer(events)
