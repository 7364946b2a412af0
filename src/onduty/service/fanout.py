"""Fan-out: committed events to every live subscriber (WebSocket clients).

An interface with an in-process implementation; a Redis or PostgreSQL one can
take its place when several instances share a database, once it passes the
same tests (tests/unit/test_fanout.py, one suite over every backend).

Publishing costs each subscriber one append and, if it was idle, one wake-up:
no task, queue or lock per event. A subscriber takes everything that arrived
since it last looked in one go (`batch`), so a burst of events costs one
wake-up per subscriber, not one per event.

A subscriber may say what it takes of each event (`select`, set by the live stream:
what its user may see, narrowed by what its page shows). It is asked as the event is
offered, so a subscriber that takes nothing of a batch is not woken at all: with 2,000
dashboards each showing one team, a status change wakes a team's few, not all of them.
It may also keep only the latest event under a key (an agent's presence, coalesced):
those wait beside the mailbox until the reader takes them.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final

from onduty.journal import StoredEvent

NOW: Final = 0
Select = Callable[[StoredEvent], int | None]
"""What a subscriber takes of an event: None, nothing; NOW, the event; a positive key (an
agent's id), the event as the latest under that key, replacing the one kept before."""


class Subscription:
    """A bounded mailbox. A subscriber that falls too far behind is cut off (it
    reconnects and resumes from its last event id), so one slow dashboard never
    holds the others back."""

    __slots__ = (
        "_fanout",
        "_latest",
        "_limit",
        "_news",
        "_pending",
        "_waiter",
        "interrupted",
        "offered_through",
        "overflowed",
        "select",
    )

    def __init__(self, fanout: FanOut, limit: int) -> None:
        self._fanout = fanout
        self._limit = limit
        self._pending: deque[StoredEvent] = deque()
        self._latest: dict[int, StoredEvent] = {}  # key -> the latest event selected under it
        self._news = False  # something arrived (or `nudge`) since `batch` last answered
        self._waiter: asyncio.Future[None] | None = None
        self.select: Select | None = None  # None: every event, now
        self.offered_through = 0  # the id of the last event offered, taken or not
        self.overflowed = False
        self.interrupted = False

    def offer(self, event: StoredEvent) -> None:
        self.offer_many((event,))

    def offer_many(self, events: Sequence[StoredEvent]) -> None:
        if self.overflowed or not events:
            return
        self.offered_through = events[-1].id
        select = self.select
        taken: Sequence[StoredEvent] = events
        if select is not None:
            now: list[StoredEvent] = []
            latest = self._latest
            kept = False
            for event in events:
                key = select(event)
                if key is None:
                    continue
                if key == NOW:
                    now.append(event)
                else:
                    latest[key] = event
                    kept = True
            if not now and not kept:
                return  # nothing for this one: not even a wake-up
            taken = now
        pending = self._pending
        if len(pending) + len(taken) > self._limit:
            self.overflowed = True
            pending.clear()  # nothing more for this one: it resumes from its last id
        else:
            pending.extend(taken)
        self._news = True
        self._wake()

    def take_latest(self) -> list[StoredEvent]:
        """The events kept under a key since the last call, in id order."""
        if not self._latest:
            return []
        events = sorted(self._latest.values(), key=_by_id)
        self._latest.clear()
        return events

    @property
    def holds_latest(self) -> bool:
        return bool(self._latest)

    def nudge(self) -> None:
        """Wake the reader once (`batch` answers what it has, maybe nothing): a timer's end,
        or a message from the client."""
        self._news = True
        self._wake()

    def interrupt(self) -> None:
        """Wake the reader for good (its client left): `batch` answers [] from now on."""
        self.interrupted = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def batch(self) -> list[StoredEvent] | None:
        """Every event taken since the last call, in order, waiting for news: an event, one
        kept under a key (`take_latest`), or a `nudge` (then the list may be empty). None
        once this subscription was cut off; [] once interrupted."""
        await self._wait(lambda: self._news or self.interrupted)
        if self.overflowed:
            return None
        self._news = False
        events = list(self._pending)
        self._pending.clear()
        return events

    async def get(self) -> StoredEvent | None:
        """The next event, or None once this subscription was cut off."""
        await self._wait(lambda: bool(self._pending))
        if self.overflowed:
            return None
        return self._pending.popleft()

    async def _wait(self, ready: Callable[[], bool]) -> None:
        """Until `ready()` or the subscription was cut off."""
        while not self.overflowed and not ready():
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    def close(self) -> None:
        self._fanout.unsubscribe(self)


def _by_id(event: StoredEvent) -> int:
    return event.id


class FanOut(ABC):
    """Publishes committed events; every backend keeps this instance's subscribers alike."""

    def __init__(self) -> None:
        self._subscriptions: dict[Subscription, None] = {}  # insertion-ordered: first come, first woken

    @abstractmethod
    async def publish(self, events: list[StoredEvent]) -> None: ...

    def subscribe(self, limit: int = 10_000) -> Subscription:
        subscription = Subscription(self, limit)
        self._subscriptions[subscription] = None
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.pop(subscription, None)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)


class InProcessFanOut(FanOut):
    async def publish(self, events: list[StoredEvent]) -> None:
        if not events:
            return
        for subscription in list(self._subscriptions):
            subscription.offer_many(events)
