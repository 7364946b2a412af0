"""Events between instances (service/fanout_redis.py): real Redis, real PostgreSQL journal.

Two `RedisFanOut`s in this process stand for two instances: each has its own
subscribers, both share the Redis channel and the PostgreSQL journal. Events
are committed through the store's real committer (`SqlStore.commit`), then
published by instance A, as the owner's service does after its commit. What
is checked: B's subscribers get every committed event, in id order, exactly
once, whatever Redis lost (a killed connection, a restarted server, a
message never sent), and a hole in the ids (a rolled-back transaction) never
stalls them. The journal poll is set far away (`NO_POLL`) unless a test is
about it, so that nothing here passes by the poll's grace.

The machine's Redis is shared: every test has channels of its own (a random
prefix) and kills only its own connections. The restart test runs a Redis
server of its own (tests/redis_server.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import asyncpg
import pytest
import redis.asyncio as aioredis

from onduty.journal import JournalEntry, StoredEvent
from onduty.service.fanout import Subscription
from onduty.service.fanout_redis import RedisFanOut
from onduty.storage.database import Database
from onduty.storage.projection import Rows
from onduty.storage.store import SqlStore
from tests.integration.conftest import _pg_execute
from tests.redis_server import PrivateRedis, unique_prefix

WAIT = 10.0  # seconds a delivery may take before the test calls it lost (reconnects back off)
NO_POLL = 3600.0


@pytest.fixture
async def store(postgres_database: Database) -> AsyncIterator[SqlStore]:
    await _pg_execute(postgres_database.url, "TRUNCATE events RESTART IDENTITY")
    store = SqlStore(postgres_database)
    yield store
    await store.close()


async def commit(store: SqlStore, count: int) -> list[StoredEvent]:
    """`count` events committed in one transaction, as a batch of the service's."""
    rows = Rows(
        journal=[JournalEntry("agent.status_changed", float(i), {"n": i}, {"public": True}) for i in range(count)]
    )
    return await store.commit(rows, [])


async def roll_back(db: Database, count: int) -> None:
    """A transaction that drew `count` ids and was rolled back: a hole in the ids for ever."""
    conn = await asyncpg.connect(db.url.replace("postgresql://", "postgres://"))
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.executemany(
            "INSERT INTO events (at, name, data, scope) VALUES (0, 'never', '{}', '{}')", [()] * count
        )
        await transaction.rollback()
    finally:
        await conn.close()


class Instance:
    """One instance's fan-out with one subscriber."""

    def __init__(self, fanout: RedisFanOut) -> None:
        self.fanout = fanout
        self.subscription: Subscription = fanout.subscribe(limit=100_000)

    async def take(self, count: int) -> list[int]:
        """The ids of the next `count` events."""
        got: list[int] = []
        async with asyncio.timeout(WAIT):
            while len(got) < count:
                batch = await self.subscription.batch()
                assert batch, "cut off or interrupted"
                got += [e.id for e in batch]
        return got

    async def nothing_more(self) -> None:
        """No event beyond those taken (a duplicate would show here)."""
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await self.subscription.batch()


class MakeInstance(Protocol):
    async def __call__(self, url: str | None = ..., poll_every: float = ...) -> Instance: ...


async def until(condition: Callable[[], bool], seconds: float = WAIT) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def instances(store: SqlStore, request: pytest.FixtureRequest) -> AsyncIterator[MakeInstance]:
    """Makes started instances on one channel: `make(url=..., poll_every=...)`; on the
    machine's Redis unless told another (which then alone needs to be up, or not)."""
    prefix = unique_prefix()
    made: list[RedisFanOut] = []

    async def make(url: str | None = None, poll_every: float = NO_POLL) -> Instance:
        url = url or request.getfixturevalue("redis_url")
        fanout = RedisFanOut(store, url, channel_prefix=prefix, poll_every=poll_every)
        await fanout.start(after=await store.last_event_id())
        made.append(fanout)
        return Instance(fanout)

    yield make
    for fanout in made:
        await fanout.close()


async def listening(*instances: Instance, times: int = 1) -> None:
    """Subscribed `times` times, and the journal read that follows each subscription done (an
    event committed before that read ends would come from the journal, not from Redis)."""
    await until(lambda: all(i.fanout.subscribed >= times and i.fanout.delivery.settled for i in instances))


async def kill_connections(redis_url: str, name: str) -> int:
    """CLIENT KILL of every connection whose name starts with `name` (ours only: the names
    carry a random id). Returns how many."""
    async with aioredis.Redis.from_url(redis_url) as admin:
        clients = await admin.client_list()
        ids = [c["id"] for c in clients if c.get("name", "").startswith(name)]
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id)
    return len(ids)


async def test_events_published_by_one_instance_reach_the_other_exactly_once_in_order(
    store: SqlStore, instances: MakeInstance
) -> None:
    # No journal poll during the test (on a busy machine a second of silence would read the
    # journal before Redis delivers): what b receives must come by Redis.
    a, b = await instances(poll_every=600.0), await instances(poll_every=600.0)
    await listening(a, b)
    committed: list[int] = []
    for size in (1, 3, 1, 50, 7, 1200, 2):  # 1,200 goes as several messages
        batch = await commit(store, size)
        committed += [e.id for e in batch]
        await a.fanout.publish(batch)
    assert await b.take(len(committed)) == committed
    assert await a.take(len(committed)) == committed  # its own, not again from Redis
    await b.nothing_more()
    await a.nothing_more()
    assert b.fanout.delivery.from_journal == 0  # all by Redis: nothing was missed


async def test_a_subscriber_whose_connection_was_killed_gets_what_it_missed_from_the_journal(
    store: SqlStore, instances: MakeInstance, redis_url: str
) -> None:
    a, b = await instances(), await instances()
    await listening(a, b)
    before = await commit(store, 5)
    await a.fanout.publish(before)
    assert await b.take(5) == [e.id for e in before]
    assert await kill_connections(redis_url, f"{b.fanout.name}-sub") == 1
    missed: list[StoredEvent] = []
    for size in (3, 1, 4):  # published while B's subscription is gone: Redis drops them for B
        batch = await commit(store, size)
        missed += batch
        await a.fanout.publish(batch)
    await listening(b, times=2)  # B subscribed again, and read the journal: nothing else tells it
    assert await b.take(8) == [e.id for e in missed]
    assert b.fanout.delivery.from_journal == len(missed)
    after = await commit(store, 2)
    await a.fanout.publish(after)
    assert await b.take(2) == [e.id for e in after]
    await b.nothing_more()


async def test_a_message_never_sent_is_filled_from_the_journal_when_the_next_one_comes(
    store: SqlStore, instances: MakeInstance
) -> None:
    """A gap without a reconnect: the next batch's first id tells B (and A) what is missing."""
    a, b = await instances(), await instances()
    await listening(a, b)
    lost = await commit(store, 4)  # committed, never published
    sent = await commit(store, 2)
    await a.fanout.publish(sent)
    expected = [e.id for e in [*lost, *sent]]
    assert await b.take(6) == expected
    assert await a.take(6) == expected
    await b.nothing_more()


async def test_a_rolled_back_transaction_leaves_a_hole_that_never_stalls_delivery(
    store: SqlStore, instances: MakeInstance, postgres_database: Database, redis_url: str
) -> None:
    a, b = await instances(), await instances()
    await listening(a, b)
    first = await commit(store, 2)
    await roll_back(postgres_database, 5)
    second = await commit(store, 3)
    assert second[0].id == first[-1].id + 6  # the hole is real: five ids that will never exist
    await a.fanout.publish(first)
    await a.fanout.publish(second)
    expected = [e.id for e in [*first, *second]]
    assert await a.take(5) == expected
    assert await b.take(5) == expected
    # And while B is away, a hole and events on both sides of it.
    assert await kill_connections(redis_url, f"{b.fanout.name}-sub") == 1
    third = await commit(store, 1)
    await roll_back(postgres_database, 3)
    fourth = await commit(store, 2)
    await a.fanout.publish(third)
    await a.fanout.publish(fourth)
    await listening(b, times=2)
    assert await b.take(3) == [e.id for e in [*third, *fourth]]
    await b.nothing_more()


async def test_redis_restarted_every_instance_recovers_and_misses_nothing(
    store: SqlStore, instances: MakeInstance
) -> None:
    """A Redis server of this test's own, killed and started again on the same port."""
    server = PrivateRedis()
    server.start()
    try:
        a, b = await instances(url=server.url), await instances(url=server.url)
        await listening(a, b)
        before = await commit(store, 3)
        await a.fanout.publish(before)
        assert await b.take(3) == [e.id for e in before]
        assert await a.take(3) == [e.id for e in before]
        server.stop()
        during = await commit(store, 4)
        async with asyncio.timeout(1):  # a publish never waits for Redis
            await a.fanout.publish(during)
        assert await a.take(4) == [e.id for e in during]  # local delivery goes on
        server.start()
        await listening(a, b, times=2)
        after = await commit(store, 2)
        await a.fanout.publish(after)
        expected = [e.id for e in [*during, *after]]
        assert await b.take(6) == expected
        assert await a.take(2) == [e.id for e in after]
        await b.nothing_more()
        await a.nothing_more()
        assert b.fanout.delivery.from_journal >= len(during)
    finally:
        server.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def test_with_redis_unreachable_publish_does_not_raise_and_local_delivery_goes_on(
    store: SqlStore, instances: MakeInstance
) -> None:
    a = await instances(url=f"redis://127.0.0.1:{_closed_port()}/0")
    for _ in range(3):
        batch = await commit(store, 2)
        async with asyncio.timeout(1):
            await a.fanout.publish(batch)
        assert await a.take(2) == [e.id for e in batch]
    await until(lambda: a.fanout.dropped_messages > 0)  # tried, failed, logged, dropped
    assert a.fanout.subscribed == 0


async def test_an_event_never_published_arrives_by_the_journal_poll(store: SqlStore, instances: MakeInstance) -> None:
    """Bounded lateness when a message is lost and nothing follows it (the publisher cut
    off from Redis): every `poll_every` seconds of silence, the journal is read."""
    b = await instances(poll_every=0.2)
    await listening(b)
    lost = await commit(store, 3)
    assert await b.take(3) == [e.id for e in lost]
    await b.nothing_more()


async def test_connections_killed_again_and_again_during_a_stream_lose_and_double_nothing(
    store: SqlStore, instances: MakeInstance, postgres_database: Database, redis_url: str
) -> None:
    """A stream of batches, holes among them, while B's subscription and A's publishing
    connection are killed every few batches, without waiting for them to come back."""
    a, b = await instances(), await instances()
    await listening(a, b)
    committed: list[int] = []
    for n in range(120):
        if n % 17 == 5:
            await roll_back(postgres_database, 2)
        batch = await commit(store, 1 + n % 4)
        committed += [e.id for e in batch]
        await a.fanout.publish(batch)
        if n % 20 == 10:
            await kill_connections(redis_url, f"{b.fanout.name}-sub")
        if n % 30 == 15:
            await kill_connections(redis_url, f"{a.fanout.name}-pub")
        await asyncio.sleep(0.002)
    assert await b.take(len(committed)) == committed
    assert await a.take(len(committed)) == committed
    await b.nothing_more()
    assert b.fanout.subscribed >= 2
