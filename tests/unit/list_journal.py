"""A journal in memory: the store's `events_after`, over a list the test fills."""

from __future__ import annotations

import asyncio
import bisect

from onduty.journal import StoredEvent


class ListJournal:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.reads = 0
        self.gate: asyncio.Event | None = None  # when set up, each read waits for it (a slow database)
        self.failures = 0  # the next reads that raise (a database away)

    async def events_after(self, after: int, limit: int) -> list[StoredEvent]:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database is away")
        start = bisect.bisect_right([e.id for e in self.events], after)
        return self.events[start : start + limit]
