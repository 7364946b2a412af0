"""The ordering under the fan-out between instances (service/_in_order.py), on a journal in memory.

What tests/integration/test_fanout_redis.py shows with Redis and PostgreSQL,
here at the moments that are hard to catch there: batches arriving while the
journal is being read, a queue that overflows, a database that fails a read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from onduty.journal import StoredEvent
from onduty.service._in_order import InOrderDelivery
from tests.unit.list_journal import ListJournal

WAIT = 2.0


def events(*numbers: int) -> list[StoredEvent]:
    return [StoredEvent(i, "agent.status_changed", float(i), {}, {"public": True}) for i in numbers]


class Delivered:
    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self, batch: list[StoredEvent]) -> None:
        self.ids += [e.id for e in batch]


@pytest.fixture
async def running() -> AsyncIterator[Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]]]:
    tasks: list[asyncio.Task[None]] = []

    def make(**options: int) -> tuple[InOrderDelivery, ListJournal, Delivered]:
        journal, delivered = ListJournal(), Delivered()
        delivery = InOrderDelivery(journal, delivered, poll_every=3600, **options)
        tasks.append(asyncio.create_task(delivery.run()))
        return delivery, journal, delivered

    yield make
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.001)


async def test_a_batch_that_continues_is_handed_on_at_once_and_old_ids_are_dropped(
    running: Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]],
) -> None:
    delivery, journal, delivered = running()
    delivery.offer(events(1, 2))
    assert delivered.ids == [1, 2]  # within offer: no task, no journal
    delivery.offer(events(1, 2))
    delivery.offer(events(2, 3))
    assert delivered.ids == [1, 2, 3]
    assert journal.reads == 0


async def test_batches_arriving_during_a_gap_fill_wait_behind_it(
    running: Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]],
) -> None:
    delivery, journal, delivered = running()
    journal.events = events(1, 2, 3, 5)  # 4 rolled back: a hole for ever
    journal.gate = asyncio.Event()
    delivery.offer(events(5))  # a gap: the journal is read (slowly)
    await until(lambda: journal.reads == 1)
    delivery.offer(events(6))  # continues nothing yet handed on: must not overtake
    delivery.offer(events(7, 8))
    assert delivered.ids == []
    journal.gate.set()
    await until(lambda: delivered.ids[-1:] == [8])
    assert delivered.ids == [1, 2, 3, 5, 6, 7, 8]
    delivery.offer(events(9))
    assert delivered.ids[-1] == 9  # and straight through again


async def test_an_overflowing_queue_gives_way_to_the_journal(
    running: Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]],
) -> None:
    delivery, journal, delivered = running(inbox_limit=3, page=2)
    journal.events = events(*range(1, 11))
    journal.gate = asyncio.Event()
    delivery.offer(events(3))  # a gap
    await until(lambda: journal.reads == 1)
    for i in range(4, 11):  # 7 events behind the read: more than the queue holds
        delivery.offer(events(i))
    assert delivery.overflows == 1
    journal.gate.set()
    await until(lambda: delivered.ids[-1:] == [10])
    assert delivered.ids == list(range(1, 11))


async def test_a_failed_journal_read_is_retried_and_loses_nothing(
    running: Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]],
) -> None:
    delivery, journal, delivered = running()
    journal.events = events(1, 2, 3)
    journal.failures = 2
    delivery.offer(events(3))
    await until(lambda: delivered.ids[-1:] == [3])
    assert delivered.ids == [1, 2, 3]
    assert journal.failures == 0


async def test_a_catch_up_reads_the_journal_to_its_end_in_pages(
    running: Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]],
) -> None:
    delivery, journal, delivered = running(page=4)
    journal.events = events(1, 2, 4, 7, 8, 9, 10, 11, 12)
    delivery.catch_up()
    await until(lambda: delivered.ids[-1:] == [12])
    assert delivered.ids == [1, 2, 4, 7, 8, 9, 10, 11, 12]
    assert delivery.from_journal == 9


async def test_a_batch_that_continues_during_a_catch_up_is_neither_doubled_nor_ahead(
    running: Callable[..., tuple[InOrderDelivery, ListJournal, Delivered]],
) -> None:
    """After a reconnect the journal is read while batches still come (the producer's own)."""
    delivery, journal, delivered = running()
    delivery.offer(events(1, 2, 3))
    journal.events = events(1, 2, 3, 4, 5)
    journal.gate = asyncio.Event()
    delivery.catch_up()
    await until(lambda: journal.reads == 1)
    delivery.offer(events(4))  # continues what was handed on, but the read in flight holds 4 too
    delivery.offer(events(5, 6))
    journal.gate.set()
    await until(lambda: delivery.from_journal == 2)  # the read in flight was handed on
    await asyncio.sleep(0.01)  # and what was queued behind it
    assert delivered.ids == [1, 2, 3, 4, 5, 6]
