"""Batches of events from anywhere, handed on in id order, each exactly once.

A fan-out between instances receives the same events twice (its own publish,
then the echo from the broker), late (after a reconnect), or not at all (a
broker drops messages while a subscriber is away). `InOrderDelivery` turns
that into what a local subscriber needs: every committed event, by id, none
twice. It is the broker's half-way house, independent of the broker.

The rule, and why it never waits for an id that will never exist:

- The journal is written by one writer per workspace at a time (the owner,
  fenced by its epoch; or the single process), one transaction after the
  other, each drawing its ids from the sequence. So ids become visible in
  increasing order: once an id is committed, no lower id is ever committed
  later. A rolled-back transaction leaves a hole for ever (PostgreSQL's
  sequences never hand a value back), which is why "the next id" is not a
  thing to wait for.
- A batch is published only after its commit. So when a batch whose first new
  id is F arrives, everything below F that will ever exist is already in the
  journal: reading the journal after `last` (the last id handed on) up to F
  is authoritative. What it holds is handed on, then the batch; what it does
  not hold is a hole, skipped. No waiting, no timer, never out of order.
- After a (re)subscription to the broker, nothing says what was missed:
  read the journal from `last` to its end (the subscription is live before
  the read, so whatever commits after the read arrives by the broker; what
  both give is dropped by id). The same reading, when nothing arrived for
  `poll_every` seconds, bounds how late an event can be when a message is
  lost with no reconnect to tell (a publisher cut off from the broker).
- An id at or below `last` was handed on already: dropped.

A batch that continues `last` exactly is handed on at once, in the caller's
task (the producer's own publish reaches its subscribers before `publish`
returns); anything else, or anything behind work in progress, queues for the
pump task, which reads the journal. Everything is bounded: the queue (past
`inbox_limit` events it is dropped whole and the journal read instead: the
journal has them all), each journal read (`page` events), the wait between
failed reads (capped backoff).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from typing import Protocol

import structlog

from onduty.journal import StoredEvent

log = structlog.get_logger("onduty.fanout")

JOURNAL_PAGE = 500
INBOX_LIMIT = 50_000  # events queued behind a journal read before the queue gives way to the journal
POLL_EVERY = 2.0  # seconds of silence before the journal is read anyway
RETRY_FIRST, RETRY_CAP = 0.05, 5.0  # seconds between failed journal reads, doubling


class JournalReader(Protocol):
    """What the delivery reads from the store (storage/base.py `Store` is one)."""

    async def events_after(self, after: int, limit: int) -> list[StoredEvent]: ...


def backoff(attempt: int, first: float = RETRY_FIRST, cap: float = RETRY_CAP) -> float:
    """Capped exponential backoff with jitter (instances restarting together do not retry in step)."""
    return min(cap, first * 2.0 ** min(attempt, 30)) * random.uniform(0.5, 1.0)


class InOrderDelivery:
    def __init__(
        self,
        journal: JournalReader,
        deliver: Callable[[list[StoredEvent]], None],
        *,
        last: int = 0,
        page: int = JOURNAL_PAGE,
        inbox_limit: int = INBOX_LIMIT,
        poll_every: float = POLL_EVERY,
    ) -> None:
        self.last = last  # the last id handed on
        self._journal = journal
        self._deliver = deliver
        self._page = page
        self._inbox_limit = inbox_limit
        self._poll_every = poll_every
        self._inbox: deque[list[StoredEvent]] = deque()
        self._queued = 0  # events in the inbox
        self._catch_up = False  # read the journal to its end before anything queued
        self._busy = False  # the pump is at work: offers queue behind it
        self._wake = asyncio.Event()
        # Counters, for tests and metrics.
        self.from_journal = 0  # events handed on from the journal, not from a batch
        self.journal_reads = 0
        self.overflows = 0  # times the inbox was dropped for the journal

    @property
    def settled(self) -> bool:
        """Nothing queued and no journal read asked for or under way."""
        return not (self._busy or self._catch_up or self._inbox)

    def offer(self, batch: list[StoredEvent]) -> None:
        """A batch in id order, from the producer or the broker; never blocks."""
        if not batch or batch[-1].id <= self.last:
            return
        if not (self._busy or self._catch_up or self._inbox):
            fresh = batch if batch[0].id > self.last else [e for e in batch if e.id > self.last]
            if fresh[0].id == self.last + 1:
                self._hand_on(fresh)
                return
        if self._queued + len(batch) > self._inbox_limit:
            self.overflows += 1
            self._inbox.clear()
            self._queued = 0
            self._catch_up = True
        else:
            self._inbox.append(batch)
            self._queued += len(batch)
        self._wake.set()

    def catch_up(self) -> None:
        """Something may have been missed (a new subscription, an unreadable message): read
        the journal to its end before what comes next."""
        self._catch_up = True
        self._wake.set()

    async def run(self) -> None:
        """The pump: until cancelled."""
        failures = 0
        while True:
            try:
                async with asyncio.timeout(self._poll_every):
                    await self._wake.wait()
            except TimeoutError:
                self._catch_up = True
            self._wake.clear()
            try:
                await self._drain()
            except Exception as error:  # the database is away: try again, the journal keeps everything
                self._catch_up = True
                delay = backoff(failures)
                failures += 1
                log.warning(
                    "fan-out: journal read failed", error=f"{type(error).__name__}: {error}", retry_in=round(delay, 3)
                )
                await asyncio.sleep(delay)
                self._wake.set()
            else:
                failures = 0

    async def _drain(self) -> None:
        self._busy = True
        try:
            while self._catch_up or self._inbox:
                if self._catch_up:
                    self._catch_up = False
                    await self._fill(before=None)
                    continue
                batch = self._inbox.popleft()
                self._queued -= len(batch)
                fresh = [e for e in batch if e.id > self.last]
                if not fresh:
                    continue
                if fresh[0].id > self.last + 1:
                    try:
                        await self._fill(before=fresh[0].id)
                    except BaseException:
                        self._catch_up = True  # this batch is dropped: the journal has it
                        raise
                    fresh = [e for e in fresh if e.id > self.last]
                if fresh:
                    self._hand_on(fresh)
        finally:
            self._busy = False

    async def _fill(self, before: int | None) -> None:
        """Hands on what the journal holds after `last` (below `before`, if given: the
        journal is authoritative there; any id it lacks is a hole that stays one)."""
        while True:
            self.journal_reads += 1
            page = await self._journal.events_after(self.last, self._page)
            found = page if before is None else [e for e in page if e.id < before]
            if found:
                self.from_journal += len(found)
                self._hand_on(found)
            if len(found) < len(page) or len(page) < self._page:
                return

    def _hand_on(self, events: list[StoredEvent]) -> None:
        self.last = events[-1].id
        self._deliver(events)
