"""The workspace's lease and the fenced commit, on the real PostgreSQL (several instances
share it; SQLite serves one instance and refuses leases).

What must hold: one owner at a time however many contend; a takeover only once the lease
has lapsed (by the database's clock) or was released, each under a new epoch; the old
owner's renewals refused after it; and no commit under a superseded epoch writes anything,
whatever the interleaving of the commit and the takeover.

Waits poll the database or the loop's events with a generous bound; no figure of time is
asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.service.clock import ManualClock
from onduty.service.ownership import Ownership
from onduty.service.service import Service, ServiceUnavailable
from onduty.storage._write_plan import WritePlan, write_plan
from onduty.storage.database import Database, resolve
from onduty.storage.lease import (
    DEFAULT_WORKSPACE,
    Fence,
    Lease,
    Leases,
    LeaseUnsupported,
    Superseded,
    fence_statement,
)
from onduty.storage.projection import LoggedBatch, Rows
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.integration.conftest import TABLES, _pg_execute
from tests.unit.write_plan_helpers import journal, status_log

LONG = 60.0  # a lease that cannot lapse during a test

# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def pg(postgres_database: Database) -> Database:
    """The session's PostgreSQL database, emptied (skips, or fails under CI=true, without it)."""
    asyncio.run(_pg_execute(postgres_database.url, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return postgres_database


@pytest.fixture
async def instances(pg: Database) -> AsyncIterator[Callable[..., Leases]]:
    """Makes the lease handles of separate instances: each its own connection."""
    made: list[Leases] = []

    def make(**options: Any) -> Leases:
        made.append(Leases(pg, **options))
        return made[-1]

    yield make
    for leases in made:
        await leases.close()


@pytest.fixture
async def store(pg: Database) -> AsyncIterator[SqlStore]:
    opened = SqlStore(pg)
    yield opened
    await opened.close()


@pytest.fixture
async def admin(pg: Database) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own: reads, and the moves no instance would make."""
    conn = await asyncpg.connect(pg.url)
    yield conn
    await conn.close()


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = 20.0) -> None:
    """Polls `check` until true; fails after `within` seconds (a bound, not a figure)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)


async def lapse(leases: Leases, lease: Lease) -> Lease:
    """The lease renewed for a moment, then waited out by the database's clock (an owner
    that stopped renewing: paused, or cut off)."""
    short = await leases.renew(dataclasses.replace(lease, seconds=0.05))
    assert short is not None

    async def lapsed() -> bool:
        state = await leases.current()
        return state is not None and state.lapsed

    await until(lapsed, "the lease lapses")
    return short


def taken_when(lease: Lease) -> float:
    """The database's time when `lease` was acquired or last renewed."""
    return lease.expires_at - lease.seconds


def change(n: int) -> WritePlan:
    """A real batch's rows: a status_log row and its journal event, numbered `n`."""
    return write_plan("postgresql", Rows(status_log=status_log(1, start=n), journal=journal(1, start=n)), [])


async def written(admin: asyncpg.Connection) -> tuple[int, int, int]:
    """Rows in status_log, events and agent_activity."""
    row = await admin.fetchrow(
        "SELECT (SELECT count(*) FROM status_log), (SELECT count(*) FROM events), (SELECT count(*) FROM agent_activity)"
    )
    assert row is not None
    return (row[0], row[1], row[2])


async def waiting_for_locks(admin: asyncpg.Connection) -> int:
    """Backends of this database waiting for a lock (a row's or a table's). Outside a
    transaction: within one, pg_stat_activity keeps showing its first reading."""
    count = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(count)


# -- one owner at a time ------------------------------------------------------------------


@pytest.mark.parametrize("contenders", [2, 10])
async def test_contenders_at_once_get_exactly_one_owner(instances: Callable[[], Leases], contenders: int) -> None:
    """Each round, all contenders acquire at the same moment on their own connections: one
    gets the lease, the others None; after its release the next round's winner is at the
    next epoch."""
    handles = [instances() for _ in range(contenders)]
    await asyncio.gather(*(h.current() for h in handles))  # connected beforehand: the race is the statement
    for round_ in range(1, 6):
        got = await asyncio.gather(*(h.acquire(f"i{k}", LONG) for k, h in enumerate(handles)))
        winners = [lease for lease in got if lease is not None]
        assert len(winners) == 1, got
        [winner] = winners
        assert winner.epoch == round_
        state = await handles[0].current()
        assert state is not None and (state.owner, state.epoch) == (winner.owner, winner.epoch)
        assert not state.lapsed
        owner = handles[int(winner.owner[1:])]
        assert await owner.release(winner)


async def test_takeover_only_after_the_lease_lapses_and_under_the_next_epoch(
    instances: Callable[[], Leases],
) -> None:
    a, b = instances(), instances()
    first = await a.acquire("a", LONG)
    assert first is not None and first.epoch == 1
    assert await b.acquire("b", LONG) is None  # held
    short = await lapse(a, first)

    taken = await b.acquire("b", LONG)
    assert taken is not None
    assert taken.epoch == first.epoch + 1
    # By the database's clock, not before the old lease ran out.
    assert taken_when(taken) >= short.expires_at - 1e-6
    assert await a.renew(short) is None  # the old owner must stop
    assert not await a.release(short)
    state = await a.current()
    assert state is not None and (state.owner, state.epoch) == ("b", 2)


async def test_a_lapsed_lease_is_not_renewed_but_acquired_again_under_a_new_epoch(
    instances: Callable[[], Leases],
) -> None:
    """Nobody took over, yet the owner that missed its renewals is refused: it must stop
    and start over (acquire, a new epoch, its state read again)."""
    a = instances()
    lease = await a.acquire("a", LONG)
    assert lease is not None
    short = await lapse(a, lease)
    assert await a.renew(short) is None
    again = await a.acquire("a", LONG)
    assert again is not None and again.epoch == lease.epoch + 1


async def test_the_same_instance_id_acquiring_again_fences_its_old_incarnation(
    instances: Callable[[], Leases],
) -> None:
    """A process restarted with the same id takes its unexpired lease back at once, under a
    new epoch: the old process, if it still runs (paused), can renew nothing."""
    old, new = instances(), instances()
    before = await old.acquire("host-1", LONG)
    assert before is not None
    after = await new.acquire("host-1", LONG)
    assert after is not None and after.epoch == before.epoch + 1
    assert await old.renew(before) is None
    assert await new.renew(after) is not None


async def test_release_lets_the_next_take_over_at_once(instances: Callable[[], Leases]) -> None:
    a, b = instances(), instances()
    lease = await a.acquire("a", LONG)
    assert lease is not None
    assert await b.acquire("b", LONG) is None
    assert await a.release(lease)
    taken = await b.acquire("b", LONG)  # a lease of 60 s: only the release lets it through
    assert taken is not None and taken.epoch == lease.epoch + 1
    assert not await a.release(lease)  # no longer a's: b's lease stays
    state = await b.current()
    assert state is not None and state.owner == "b" and not state.lapsed


# -- fencing: the commit checks the epoch in its own transaction ------------------------------


async def test_a_superseded_owner_commits_nothing(
    instances: Callable[[], Leases], store: SqlStore, admin: asyncpg.Connection
) -> None:
    """A real batch through the real committer at epoch N lands; once another instance took
    over (N+1), the old owner's next batch raises Superseded and leaves every table as it
    was, drawing no journal id either (the next commit gets the very next id)."""
    a, b = instances(), instances()
    lease = await a.acquire("a", LONG)
    assert lease is not None
    store.fence(lease.fence)
    assert await store.committer.commit(change(0)) == [1]
    assert await written(admin) == (1, 1, 0)

    await lapse(a, lease)
    successor = await b.acquire("b", LONG)
    assert successor is not None and successor.epoch == lease.epoch + 1

    with pytest.raises(Superseded) as raised:
        await store.committer.commit(change(1))
    assert (raised.value.workspace, raised.value.epoch) == (DEFAULT_WORKSPACE, lease.epoch)
    assert await written(admin) == (1, 1, 0)

    # The connection is fine; fenced at the successor's epoch, the same committer writes on.
    store.fence(successor.fence)
    assert await store.committer.commit(change(1)) == [2]
    assert await written(admin) == (2, 2, 0)


async def test_each_fenced_commit_logs_its_batch_under_the_epoch_it_was_fenced_by(
    instances: Callable[[], Leases], store: SqlStore, admin: asyncpg.Connection
) -> None:
    """command_log.epoch is the epoch the commit's fence checked, so that the log itself
    shows which owner committed each batch (and that none came under a superseded one);
    an unfenced commit (one instance) logs none."""
    logged = LoggedBatch(1.0, False, "[]")
    a, b = instances(), instances()
    store.fence(None)
    await store.committer.commit(dataclasses.replace(change(0), log=logged))
    lease = await a.acquire("a", LONG)
    assert lease is not None
    store.fence(lease.fence)
    await store.committer.commit(dataclasses.replace(change(1), log=logged))
    await lapse(a, lease)
    successor = await b.acquire("b", LONG)
    assert successor is not None
    store.fence(successor.fence)
    await store.committer.commit(dataclasses.replace(change(2), log=logged))
    epochs = [row[0] for row in await admin.fetch("SELECT epoch FROM command_log ORDER BY id")]
    assert epochs == [None, lease.epoch, successor.epoch]


async def test_a_commit_left_idle_by_a_frozen_owner_does_not_hold_the_takeover_back(
    instances: Callable[[], Leases], pg: Database
) -> None:
    """An owner frozen (SIGSTOP, a stalled VM) in the middle of a commit holds the fence's
    lock on the lease row, and a takeover waits for that lock. The database ends such a
    transaction once it has stood idle for the lease's length: a successor then takes over
    as from any frozen owner, and nothing of the commit is kept. (Before, every acquire
    timed out for as long as the owner stayed frozen.)"""
    a, b = instances(), instances()
    lease = await a.acquire("a", 0.5)
    assert lease is not None
    frozen = await asyncpg.connect(pg.url)
    frozen_pid = frozen.get_server_pid()
    b_admin = await asyncpg.connect(pg.url)
    try:
        # What the committer sends first; then the frozen owner sends nothing more.
        assert await frozen.execute(f"BEGIN; {fence_statement(lease.fence)}") == "UPDATE 1"
        successor = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while successor is None and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):  # waited for the row's lock past its timeout
                successor = await b.acquire("b", LONG)
            if successor is None:
                await asyncio.sleep(0.1)
        assert successor is not None and successor.epoch == lease.epoch + 1, "the frozen commit held the lease"
        # Its session was ended by the database: nothing of the commit can be kept.
        alive = await b_admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", frozen_pid)
        assert alive == 0, "the frozen commit's session is still there"
    finally:
        frozen.terminate()
        await b_admin.close()


async def test_unfenced_commits_are_unchecked_as_with_one_instance(
    instances: Callable[[], Leases], store: SqlStore, admin: asyncpg.Connection
) -> None:
    """No fence set (one instance; or SQLite): the lease is not looked at."""
    other = await instances().acquire("someone-else", LONG)
    assert other is not None
    assert await store.committer.commit(change(0)) == [1]
    store.fence(Fence(DEFAULT_WORKSPACE, other.epoch + 5))
    with pytest.raises(Superseded):
        await store.committer.commit(change(1))
    store.fence(None)
    assert await store.committer.commit(change(1)) == [2]
    assert await written(admin) == (2, 2, 0)


async def test_a_commit_that_meets_a_takeover_in_progress_waits_for_it_then_writes_nothing(
    instances: Callable[[], Leases], store: SqlStore, admin: asyncpg.Connection
) -> None:
    """The takeover has updated the lease row but not committed yet when the old owner's
    commit begins: the fence waits for the row, then sees the new epoch (PostgreSQL
    re-reads an updated row in READ COMMITTED) and the whole transaction rolls back."""
    lease = await instances().acquire("a", LONG)
    assert lease is not None
    store.fence(lease.fence)
    successor = await asyncpg.connect(store.db.url)
    try:
        async with successor.transaction():
            await successor.execute("UPDATE workspace_lease SET owner = 'b', epoch = epoch + 1")
            commit = asyncio.create_task(store.committer.commit(change(0)))
            await until(lambda: _waiters(admin, 1), "the fence waits for the lease row")
            assert not commit.done()
    finally:
        await successor.close()
    with pytest.raises(Superseded):
        await commit
    assert await written(admin) == (0, 0, 0)


async def test_a_commit_and_a_takeover_at_the_same_moment_never_interleave(
    instances: Callable[[], Leases], store: SqlStore, admin: asyncpg.Connection
) -> None:
    """The old owner's lease has lapsed (nobody took over yet); its commit is under way,
    stalled on a table the test holds, while a successor acquires. Wherever the fence
    stands in the transaction, the commit under epoch N either lands whole before the
    takeover to N+1, or raises Superseded and writes nothing. With the fence first, as
    the committer runs it, the fence has locked the lease row: the takeover waits, the
    commit lands (the epoch alone is checked, not the lapse), then the takeover; the old
    owner's next commit is refused."""
    a, b = instances(), instances()
    lease = await a.acquire("a", LONG)
    assert lease is not None
    store.fence(lease.fence)
    await lapse(a, lease)

    holder = await asyncpg.connect(store.db.url)
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE status_log IN SHARE MODE")  # inserts wait
            commit = asyncio.create_task(store.committer.commit(change(0)))
            await until(lambda: _waiters(admin, 1), "the commit waits for status_log")
            takeover = asyncio.create_task(b.acquire("b", LONG))

            async def settled() -> bool:
                return takeover.done() or await _waiters(admin, 2)

            await until(settled, "the takeover is through, or waits for the lease row")
            taken_first = takeover.done()
            assert not commit.done()
        successor = await takeover
        try:
            landed = await commit == [1]
        except Superseded:
            landed = False
    finally:
        await holder.close()
    assert successor is not None and successor.epoch == lease.epoch + 1
    if landed:  # whole, and before the takeover
        assert not taken_first
        assert await written(admin) == (1, 1, 0)
    else:
        assert await written(admin) == (0, 0, 0)
    assert landed and not taken_first  # the fence first: the commit under way wins
    with pytest.raises(Superseded):
        await store.committer.commit(change(1))
    assert await written(admin) == (1, 1, 0)


async def _waiters(admin: asyncpg.Connection, count: int) -> bool:
    return await waiting_for_locks(admin) >= count


async def test_a_paused_owner_cannot_write_after_a_takeover(
    instances: Callable[[], Leases], store: SqlStore, admin: asyncpg.Connection
) -> None:
    """The owner's whole service (engine, projection, store) at epoch N. It stops renewing
    (as if SIGSTOPped), its lease lapses, another instance takes over; resumed, its next
    status change is refused, and the status log, the journal and the activity rows stay
    as they were, and so does the agent's row."""
    service = Service(store, clock=ManualClock())
    await service.start()
    try:
        leases = instances()
        lease = await leases.acquire("a", LONG)
        assert lease is not None
        store.fence(lease.fence)
        user = await UserStore(store).create(
            username="ann", name="Ann", role="agent", team="t", password_hash=None, now=0
        )
        await service.execute(c.RegisterAgent(user.id, "t", None, name="Ann", username="ann"))
        await service.execute(c.Login(user.id))
        done = await service.execute(c.SetStatus(user.id, State.ACTIVE, None, Actor.agent(user.id)))
        assert done.stored  # committed under the fence
        before = await written(admin)
        assert before[0] >= 1

        paused = await lapse(leases, lease)  # no renewal while "stopped"
        successor = await instances().acquire("b", LONG)
        assert successor is not None and successor.epoch == lease.epoch + 1

        with pytest.raises(ServiceUnavailable):
            await service.execute(c.SetStatus(user.id, State.NOT_READY, None, Actor.agent(user.id)))
        assert await written(admin) == before
        assert await admin.fetchval("SELECT state FROM agents WHERE id = $1", user.id) == State.ACTIVE.value
        assert await leases.renew(paused) is None
    finally:
        await service.stop()


# -- the ownership loop -----------------------------------------------------------------------


class Heard:
    """What an Ownership told its user, in order."""

    def __init__(self) -> None:
        self.said: list[tuple[str, int, str]] = []

    def gained(self, lease: Lease) -> None:
        self.said.append(("gained", lease.epoch, ""))

    def lost(self, lease: Lease, why: str) -> None:
        self.said.append(("lost", lease.epoch, why))


def loop(leases: Leases, name: str, heard: Heard, **timing: Any) -> Ownership:
    timing = {"lease_seconds": 0.5, "renew_every": 0.1, "retry_every": 0.05, **timing}
    return Ownership(leases, name, on_gained=heard.gained, on_lost=heard.lost, **timing)


async def test_ownership_gains_renews_and_loses_when_another_takes_over(
    instances: Callable[[], Leases], admin: asyncpg.Connection
) -> None:
    heard_a, heard_b = Heard(), Heard()
    a = loop(instances(), "a", heard_a)
    b = loop(instances(), "b", heard_b)
    a.start()
    await asyncio.wait_for(a.gained.wait(), 20)
    b.start()
    try:
        first = await admin.fetchval("SELECT expires_at FROM workspace_lease")
        seen = {first}

        async def renewed_three_times() -> bool:
            row = await admin.fetchrow("SELECT owner, epoch, expires_at FROM workspace_lease")
            assert row is not None and (row["owner"], row["epoch"]) == ("a", 1)  # kept, never lapsed
            seen.add(row["expires_at"])
            return len(seen) >= 4

        await until(renewed_three_times, "a renews its lease")
        assert not b.gained.is_set() and b.lost.is_set()

        # Another instance takes over, as a successful acquire would (a was thought gone).
        await admin.execute(
            "UPDATE workspace_lease SET owner = 'c', epoch = epoch + 1,"
            " expires_at = extract(epoch FROM clock_timestamp()) + 60"
        )
        await asyncio.wait_for(a.lost.wait(), 20)
        assert not a.gained.is_set() and a.lease is None
        assert heard_a.said[0] == ("gained", 1, "")
        assert heard_a.said[1][:2] == ("lost", 1) and "refused" in heard_a.said[1][2]
        assert heard_b.said == []  # c holds it
    finally:
        await a.stop()
        await b.stop()


async def test_ownership_passes_to_a_contender_when_the_owner_dies(instances: Callable[[], Leases]) -> None:
    """The owner stops without releasing (killed): the contender gains once its lease has
    lapsed by the database's clock, under the next epoch."""
    heard_a, heard_b = Heard(), Heard()
    a = loop(instances(), "a", heard_a)
    b = loop(instances(), "b", heard_b)
    a.start()
    await asyncio.wait_for(a.gained.wait(), 20)
    b.start()
    try:
        await a.stop(release=False)
        last = await a.leases.current()
        assert last is not None and last.owner == "a"
        await asyncio.wait_for(b.gained.wait(), 20)
        assert b.lease is not None and b.lease.epoch == 2
        assert taken_when(b.lease) >= last.expires_at - 1e-6
        assert heard_a.said[-1][:2] == ("lost", 1) and heard_b.said == [("gained", 2, "")]
    finally:
        await b.stop()


async def test_ownership_released_on_a_graceful_stop_passes_at_once(instances: Callable[[], Leases]) -> None:
    """Leases of 60 s: the contender can only gain because the owner released its lease."""
    heard_b = Heard()
    a = loop(instances(), "a", Heard(), lease_seconds=LONG)
    b = loop(instances(), "b", heard_b, lease_seconds=LONG)
    a.start()
    await asyncio.wait_for(a.gained.wait(), 20)
    b.start()
    try:
        await a.stop()
        assert a.lost.is_set()
        await asyncio.wait_for(b.gained.wait(), 20)
        assert heard_b.said == [("gained", 2, "")]
    finally:
        await b.stop()


async def test_ownership_reports_a_superseded_commit_as_a_loss_at_once(instances: Callable[[], Leases]) -> None:
    """A commit refused at the held epoch: lost before the call returns (no waiting for the
    next renewal); one of an older epoch changes nothing. Nobody else holds it here, so the
    loop acquires again, under a new epoch (the user starts over from the database)."""
    heard = Heard()
    a = loop(instances(), "a", heard, lease_seconds=LONG, renew_every=5.0)
    a.start()
    try:
        await asyncio.wait_for(a.gained.wait(), 20)
        a.superseded(Superseded(DEFAULT_WORKSPACE, 0))  # not the epoch held
        assert a.gained.is_set()
        a.superseded(Superseded(DEFAULT_WORKSPACE, 1))
        assert a.lost.is_set() and not a.gained.is_set()
        assert heard.said == [("gained", 1, ""), ("lost", 1, "a commit was superseded")]
        await asyncio.wait_for(a.gained.wait(), 20)
        assert a.lease is not None and a.lease.epoch == 2
    finally:
        await a.stop()


async def test_ownership_lost_when_renewals_cannot_complete_before_the_lease_would_lapse(
    instances: Callable[..., Leases], pg: Database
) -> None:
    """The lease row is held by another transaction, so renewals hang (as with a database
    that stopped answering): the owner reports the loss once its lease may have lapsed,
    without waiting for an answer. When the row is free again, the lease (lapsed by then)
    is acquired again under a new epoch."""
    heard = Heard()
    a = loop(instances(timeout=60.0), "a", heard)  # the statement alone would wait a minute
    a.start()
    blocker = await asyncpg.connect(pg.url)
    try:
        await asyncio.wait_for(a.gained.wait(), 20)
        async with blocker.transaction():
            await blocker.execute("SELECT * FROM workspace_lease FOR UPDATE")
            await asyncio.wait_for(a.lost.wait(), 20)
            assert heard.said[-1][:2] == ("lost", 1) and "could not be reached" in heard.said[-1][2]
        await asyncio.wait_for(a.gained.wait(), 20)
        assert a.lease is not None and a.lease.epoch == 2
    finally:
        await blocker.close()
        await a.stop()


async def test_ownership_gained_by_an_acquire_that_waited_for_the_row_is_kept(
    instances: Callable[..., Leases], pg: Database
) -> None:
    """The acquire waits for the lease row (a frozen owner's commit holding it, until the
    database ends that commit) for most of a lease: this process's bound on the new lease,
    taken when the acquire was sent, has nearly run out when it is answered, though the
    database's lease runs a whole length from then. The owner asks the database before
    calling its lease lapsed, and keeps it: no loss, no new epoch, no flapping."""
    admin = await asyncpg.connect(pg.url)
    blocker = await asyncpg.connect(pg.url)
    heard = Heard()
    a = loop(instances(), "a", heard, lease_seconds=1.0, renew_every=0.2, retry_every=0.05)
    try:
        await admin.execute(  # a lapsed lease of another's: the next acquire takes it
            "INSERT INTO workspace_lease (workspace, owner, epoch, expires_at) VALUES ('default', 'z', 7, 0)"
        )
        async with blocker.transaction():
            await blocker.execute("SELECT * FROM workspace_lease FOR UPDATE")
            a.start()
            await until(lambda: _waits(admin), "the acquire waits for the lease row")
            await asyncio.sleep(0.9)  # most of a lease, the acquire waiting
        await asyncio.wait_for(a.gained.wait(), 20)
        await asyncio.sleep(1.5)  # past the bound taken at sending, and renewals on
        assert heard.said == [("gained", 8, "")], heard.said
        state = await a.leases.current()
        assert state is not None and (state.owner, state.epoch, state.lapsed) == ("a", 8, False)
    finally:
        await a.stop()
        await blocker.close()
        await admin.close()


async def _waits(admin: asyncpg.Connection) -> bool:
    return await waiting_for_locks(admin) > 0


# -- SQLite: one instance, no lease ------------------------------------------------------------


async def test_sqlite_refuses_leases_and_fences(tmp_path: Path) -> None:
    """SQLite serves one instance: no lease to take, no fence to set; its commits are as ever."""
    db = resolve(f"sqlite:///{tmp_path / 'onduty.db'}")
    with pytest.raises(LeaseUnsupported, match="SQLite"):
        Leases(db)
    store = SqlStore(db)
    try:
        with pytest.raises(LeaseUnsupported, match="need PostgreSQL"):
            store.fence(Fence(DEFAULT_WORKSPACE, 1))
    finally:
        await store.close()
