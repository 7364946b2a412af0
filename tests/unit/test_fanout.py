"""The in-process fan-out: every subscriber gets every published event, in order;
one that falls too far behind is cut off without holding the others back."""

from __future__ import annotations

import asyncio

from onduty.service.fanout import InProcessFanOut
from onduty.storage.store import StoredEvent


def events(*ids: int) -> list[StoredEvent]:
    return [StoredEvent(i, "agent.status_changed", float(i), {"agent_id": 1}, {"public": True}) for i in ids]


async def test_a_subscriber_gets_every_event_in_order_in_batches() -> None:
    fanout = InProcessFanOut()
    subscription = fanout.subscribe()
    await fanout.publish(events(1, 2))
    await fanout.publish(events(3))
    assert [e.id for e in await subscription.batch() or []] == [1, 2, 3]
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    assert not reader.done()  # nothing new: it waits
    await fanout.publish(events(4, 5))
    assert [e.id for e in await reader or []] == [4, 5]


async def test_get_hands_out_one_event_at_a_time() -> None:
    fanout = InProcessFanOut()
    subscription = fanout.subscribe()
    reader = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    await fanout.publish(events(1, 2))
    first = await reader
    second = await subscription.get()
    assert first is not None and second is not None
    assert (first.id, second.id) == (1, 2)


async def test_a_subscriber_that_falls_behind_is_cut_off_and_the_others_are_not() -> None:
    fanout = InProcessFanOut()
    slow = fanout.subscribe(limit=3)
    fast = fanout.subscribe(limit=3)
    await fanout.publish(events(1, 2))
    assert [e.id for e in await fast.batch() or []] == [1, 2]
    await fanout.publish(events(3, 4))  # slow now holds 4 > 3
    assert slow.overflowed
    assert await slow.batch() is None
    assert await slow.get() is None
    await fanout.publish(events(5))
    assert await slow.batch() is None  # stays cut off: it reconnects with ?after=
    assert [e.id for e in await fast.batch() or []] == [3, 4, 5]


async def test_a_cut_off_wakes_a_waiting_reader() -> None:
    fanout = InProcessFanOut()
    subscription = fanout.subscribe(limit=1)
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    await fanout.publish(events(1, 2))
    assert await asyncio.wait_for(reader, 1) is None


async def test_interrupt_wakes_the_reader_for_good() -> None:
    fanout = InProcessFanOut()
    subscription = fanout.subscribe()
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    subscription.interrupt()
    assert await asyncio.wait_for(reader, 1) == []
    assert await asyncio.wait_for(subscription.batch(), 1) == []


async def test_a_closed_subscription_gets_nothing_more() -> None:
    fanout = InProcessFanOut()
    gone, staying = fanout.subscribe(), fanout.subscribe()
    assert fanout.subscribers == 2
    gone.close()
    assert fanout.subscribers == 1
    await fanout.publish(events(1))
    assert [e.id for e in await staying.batch() or []] == [1]
    reader = asyncio.create_task(gone.batch())
    await asyncio.sleep(0.01)
    assert not reader.done()
    reader.cancel()


async def test_a_cancelled_reader_leaves_the_subscription_usable() -> None:
    fanout = InProcessFanOut()
    subscription = fanout.subscribe()
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.sleep(0)
    await fanout.publish(events(1))
    assert [e.id for e in await asyncio.wait_for(subscription.batch(), 1) or []] == [1]
