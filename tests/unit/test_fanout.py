"""The fan-out's contract (service/fanout.py): every implementation passes these tests.

One suite over every backend, as Litestar tests its channel backends: the
tests see only the `FanOut` interface and its subscriptions; the fixture makes
each backend: in-process, and Redis (service/fanout_redis.py, on the machine's
Redis, on channels of its own; it skips without Redis, fails under CI=true).
Nothing here counts on delivery within `publish` itself: reads wait (`soon`).
The Redis backend's journal here is a list the tests never fill (what
publish sends is all there is); tests/integration/test_fanout_redis.py runs
it between instances over PostgreSQL's journal.

What the live stream relies on (web/_events_ws.py): a subscriber gets every
event published after it subscribed, in order, none twice; one that falls too
far behind is cut off (it resumes from the journal) without holding the
others back; a reader can be woken for good when its client leaves; what a subscriber
selects is decided as each event is offered, wherever it came from (a follower's
streams are selected on the follower, from what Redis and the journal bring).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

from onduty.journal import StoredEvent
from onduty.service.fanout import NOW, FanOut, InProcessFanOut, Subscription
from onduty.service.fanout_redis import RedisFanOut
from tests.redis_server import unique_prefix
from tests.unit.list_journal import ListJournal

T = TypeVar("T")
WAIT = 1.0  # seconds a delivery may take before the test calls it lost


@pytest.fixture(params=["in_process", "redis"])
async def fanout(request: pytest.FixtureRequest) -> AsyncIterator[FanOut]:
    """Each backend, with no subscriber yet."""
    if request.param == "in_process":
        yield InProcessFanOut()
        return
    redis = RedisFanOut(ListJournal(), request.getfixturevalue("redis_url"), channel_prefix=unique_prefix())
    await redis.start(after=0)
    async with redis:
        await until(lambda: redis.subscribed > 0)  # its own messages come back too
        yield redis


def events(*numbers: int) -> list[StoredEvent]:
    return [StoredEvent(i, "agent.status_changed", float(i), {"agent_id": 1}, {"public": True}) for i in numbers]


async def soon(read: Awaitable[T]) -> T:
    return await asyncio.wait_for(read, WAIT)


async def take(subscription: Subscription, count: int) -> list[StoredEvent]:
    """The next `count` events, in however many batches they come."""
    got: list[StoredEvent] = []
    while len(got) < count:
        batch = await soon(subscription.batch())
        assert batch, "cut off or interrupted"
        got += batch
    return got


def ids(got: list[StoredEvent]) -> list[int]:
    return [e.id for e in got]


async def until(condition: Callable[[], bool]) -> None:
    """Waits for `condition` (a backend may deliver after `publish` returns)."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.005)


async def test_a_subscriber_gets_every_event_in_order_in_batches(fanout: FanOut) -> None:
    subscription = fanout.subscribe()
    await fanout.publish(events(1, 2))
    await fanout.publish(events(3))
    assert ids(await take(subscription, 3)) == [1, 2, 3]
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0.01)
    assert not reader.done()  # nothing new: it waits
    await fanout.publish(events(4, 5))
    first = await soon(reader)
    assert first, "cut off or interrupted"
    assert ids([*first, *await take(subscription, 2 - len(first))]) == [4, 5]


async def test_every_subscriber_gets_the_same_events_whole(fanout: FanOut) -> None:
    first, second = fanout.subscribe(), fanout.subscribe()
    published = events(1, 2, 3)
    await fanout.publish(published)
    for subscription in (first, second):
        assert await take(subscription, 3) == published


async def test_a_subscriber_gets_only_what_was_published_after_it_subscribed(fanout: FanOut) -> None:
    """What came before is the journal's to give (the stream subscribes, then reads its backlog)."""
    early = fanout.subscribe()
    await fanout.publish(events(1))
    await soon(early.get())
    late = fanout.subscribe()
    await fanout.publish(events(2))
    event = await soon(late.get())
    assert event is not None and event.id == 2


async def test_get_hands_out_one_event_at_a_time(fanout: FanOut) -> None:
    subscription = fanout.subscribe()
    reader = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    await fanout.publish(events(1, 2))
    first = await soon(reader)
    second = await soon(subscription.get())
    assert first is not None and second is not None
    assert (first.id, second.id) == (1, 2)


async def test_publishing_nothing_or_to_nobody_is_harmless(fanout: FanOut) -> None:
    await fanout.publish(events(1))
    subscription = fanout.subscribe()
    await fanout.publish([])
    await fanout.publish(events(2))
    event = await soon(subscription.get())
    assert event is not None and event.id == 2


async def test_a_subscriber_that_falls_behind_is_cut_off_and_the_others_are_not(fanout: FanOut) -> None:
    slow = fanout.subscribe(limit=3)
    fast = fanout.subscribe(limit=3)
    await fanout.publish(events(1, 2))
    assert ids(await take(fast, 2)) == [1, 2]
    await fanout.publish(events(3, 4))  # slow now holds 4 > 3
    await until(lambda: slow.overflowed)
    assert await soon(slow.batch()) is None
    assert await soon(slow.get()) is None
    await fanout.publish(events(5))
    assert await soon(slow.batch()) is None  # stays cut off: it reconnects with ?after=
    assert ids(await take(fast, 3)) == [3, 4, 5]


async def test_a_cut_off_wakes_a_waiting_reader(fanout: FanOut) -> None:
    subscription = fanout.subscribe(limit=1)
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    await fanout.publish(events(1, 2))
    assert await soon(reader) is None


async def test_interrupt_wakes_the_reader_for_good(fanout: FanOut) -> None:
    subscription = fanout.subscribe()
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    subscription.interrupt()
    assert await soon(reader) == []
    assert await soon(subscription.batch()) == []


async def test_a_closed_subscription_gets_nothing_more(fanout: FanOut) -> None:
    gone, staying = fanout.subscribe(), fanout.subscribe()
    assert fanout.subscribers == 2
    gone.close()
    assert fanout.subscribers == 1
    await fanout.publish(events(1))
    assert ids(await take(staying, 1)) == [1]
    reader = asyncio.create_task(gone.batch())
    await asyncio.sleep(0.05)
    assert not reader.done()
    reader.cancel()


async def test_a_cancelled_reader_leaves_the_subscription_usable(fanout: FanOut) -> None:
    subscription = fanout.subscribe()
    reader = asyncio.create_task(subscription.batch())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.sleep(0)
    await fanout.publish(events(1))
    assert ids(await take(subscription, 1)) == [1]


async def test_a_subscriber_takes_what_it_selects_and_the_latest_event_of_each_key(fanout: FanOut) -> None:
    """The live stream's selection (service/stream_filter.py): some events now, some kept
    as the latest under a key (an agent's presence, coalesced), the rest not at all; a
    batch with nothing for it does not wake it."""
    subscription = fanout.subscribe()
    # Agent 1's events now, agent 2's kept as its latest, agent 3's dropped.
    subscription.select = lambda event: {1: NOW, 2: 2}.get(event.data["agent_id"])

    def by(agent: int, *numbers: int) -> list[StoredEvent]:
        return [StoredEvent(i, "agent.status_changed", float(i), {"agent_id": agent}, {}) for i in numbers]

    await fanout.publish(by(2, 1))
    await fanout.publish([*by(1, 2), *by(3, 3), *by(2, 4)])
    await fanout.publish(by(1, 5))
    assert ids(await take(subscription, 2)) == [2, 5]
    await until(lambda: subscription.offered_through == 5)
    assert ids(subscription.take_latest()) == [4]
    assert subscription.take_latest() == []
    reader = asyncio.create_task(subscription.batch())
    await fanout.publish(by(3, 6))
    await until(lambda: subscription.offered_through == 6)
    await asyncio.sleep(0.01)
    assert not reader.done()  # nothing for it: not woken
    subscription.nudge()
    assert await soon(reader) == []


# -- the in-process backend's own promises ----------------------------------------------------------


async def test_in_process_delivers_within_publish_and_a_burst_is_one_batch() -> None:
    """What it spends per event (fanout.py): a publish reaches every subscriber before it
    returns, and what arrived since a reader last looked comes in one batch (one wake-up)."""
    fanout = InProcessFanOut()
    subscription, slow = fanout.subscribe(), fanout.subscribe(limit=2)
    await fanout.publish(events(1, 2))
    await fanout.publish(events(3))
    assert slow.overflowed
    assert ids(await subscription.batch() or []) == [1, 2, 3]
