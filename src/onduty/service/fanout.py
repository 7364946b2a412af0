"""Fan-out: committed events to every live subscriber (WebSocket clients).

An interface with an in-process implementation; a Redis or PostgreSQL one can
take its place when several instances share a database, once it passes the
same tests (tests/unit/test_fanout.py, one suite over every backend).

Publishing costs each subscriber one append and, if it was idle, one wake-up:
no task, queue or lock per event. A subscriber takes everything that arrived
since it last looked in one go (`batch`), so a burst of events costs one
wake-up per subscriber, not one per event.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence

from onduty.journal import StoredEvent


class Subscription:
    """A bounded mailbox. A subscriber that falls too far behind is cut off (it
    reconnects and resumes from its last event id), so one slow dashboard never
    holds the others back."""

    __slots__ = ("_fanout", "_limit", "_pending", "_waiter", "interrupted", "overflowed")

    def __init__(self, fanout: FanOut, limit: int) -> None:
        self._fanout = fanout
        self._limit = limit
        self._pending: deque[StoredEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False
        self.interrupted = False

    def offer(self, event: StoredEvent) -> None:
        self.offer_many((event,))

    def offer_many(self, events: Sequence[StoredEvent]) -> None:
        if self.overflowed:
            return
        pending = self._pending
        if len(pending) + len(events) > self._limit:
            self.overflowed = True
            pending.clear()  # nothing more for this one: it resumes from its last id
        else:
            pending.extend(events)
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
        """Every event offered since the last call, in order, waiting for at least one.
        None once this subscription was cut off; [] once interrupted."""
        await self._wait(stop_on_interrupt=True)
        if self.overflowed:
            return None
        events = list(self._pending)
        self._pending.clear()
        return events

    async def get(self) -> StoredEvent | None:
        """The next event, or None once this subscription was cut off."""
        await self._wait(stop_on_interrupt=False)
        if self.overflowed:
            return None
        return self._pending.popleft()

    async def _wait(self, *, stop_on_interrupt: bool) -> None:
        """Until something is pending, the subscription was cut off, or (if asked) interrupted."""
        while not self._pending and not self.overflowed and not (stop_on_interrupt and self.interrupted):
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    def close(self) -> None:
        self._fanout.unsubscribe(self)


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
