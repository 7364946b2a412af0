"""Fan-out: committed events to every live subscriber (WebSocket clients).

An interface with an in-process implementation; a Redis or PostgreSQL one can
take its place when several instances share a database.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from onduty.storage.store import StoredEvent


class Subscription:
    """A bounded mailbox. A subscriber that falls too far behind is cut off (it
    reconnects and resumes from its last event id), so one slow dashboard never
    holds the others back."""

    def __init__(self, fanout: FanOut, limit: int) -> None:
        self._fanout = fanout
        self._queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(limit)
        self.overflowed = False

    def offer(self, event: StoredEvent) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue = asyncio.Queue(1)
            self._queue.put_nowait(None)

    async def get(self) -> StoredEvent | None:
        """The next event, or None once this subscription was cut off."""
        return await self._queue.get()

    def close(self) -> None:
        self._fanout.unsubscribe(self)


class FanOut(ABC):
    @abstractmethod
    async def publish(self, events: list[StoredEvent]) -> None: ...

    @abstractmethod
    def subscribe(self, limit: int = 10_000) -> Subscription: ...

    @abstractmethod
    def unsubscribe(self, subscription: Subscription) -> None: ...

    @property
    @abstractmethod
    def subscribers(self) -> int: ...


class InProcessFanOut(FanOut):
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    async def publish(self, events: list[StoredEvent]) -> None:
        for subscription in list(self._subscriptions):
            for event in events:
                subscription.offer(event)

    def subscribe(self, limit: int = 10_000) -> Subscription:
        subscription = Subscription(self, limit)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)
