"""The service layer on a real database: group commit, acknowledgement after commit,
and what happens when a commit fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from onduty.domain import commands as c
from onduty.domain.errors import NotFound
from onduty.domain.types import Actor, State
from onduty.service.clock import ManualClock
from onduty.service.service import Service, ServiceUnavailable
from onduty.storage import schema as t
from onduty.storage.database import Database
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore


@pytest.fixture
async def service(database: Database) -> AsyncIterator[Service]:
    store = SqlStore(database)
    running = Service(store, clock=ManualClock())
    await running.start()
    yield running
    await running.stop()
    await store.close()


def sql(service: Service) -> SqlStore:
    """The service's store, as these tests made it: SQL, for reads of their own."""
    assert isinstance(service.store, SqlStore)
    return service.store


async def agents(service: Service, n: int) -> list[int]:
    users = UserStore(sql(service))
    ids = []
    for i in range(n):
        user = await users.create(username=f"a{i}", name=f"A{i}", role="agent", team="t", password_hash=None, now=0)
        await service.execute(c.RegisterAgent(user.id, "t", None, name=user.name, username=user.username))
        await service.execute(c.Login(user.id))
        ids.append(user.id)
    return ids


def commits(service: Service) -> float:
    [metric] = list(service.metrics.commit_seconds.collect())
    return float(sum(sample.value for sample in metric.samples if sample.name.endswith("_count")))


async def test_commands_that_arrive_together_share_a_commit(service: Service) -> None:
    ids = await agents(service, 40)
    before = commits(service)
    outcomes = await asyncio.gather(*(service.execute(c.SetStatus(i, State.ACTIVE, None, Actor.agent(i))) for i in ids))
    assert all(o.stored for o in outcomes)  # every one acknowledged with its committed events
    assert commits(service) - before < len(ids) / 4, "40 concurrent commands should need only a few commits"


async def test_acknowledged_means_committed(service: Service) -> None:
    [agent] = await agents(service, 1)
    outcome = await service.execute(c.SetStatus(agent, State.ACTIVE, None, Actor.agent(agent)))
    ids = [e.id for e in outcome.stored]
    rows = await sql(service).fetch(select(t.events.c.id).where(t.events.c.id.in_(ids)))
    assert sorted(r.id for r in rows) == sorted(ids)
    log = await sql(service).fetch(select(t.status_log).where(t.status_log.c.agent_id == agent))
    assert [(r.from_state, r.to_state) for r in log][-1] == ("not_ready", "active")


async def test_a_failed_commit_is_not_acknowledged_and_changes_nothing(service: Service) -> None:
    """The database refuses (here: a table it needs is gone). The caller gets
    ServiceUnavailable, the engine goes back to what the database holds, and the
    service keeps working once the database is whole again."""
    [agent] = await agents(service, 1)
    async with sql(service).engine.begin() as conn:
        await conn.execute(text("ALTER TABLE status_log RENAME TO status_log_away"))
    with pytest.raises(ServiceUnavailable):
        await service.execute(c.SetStatus(agent, State.ACTIVE, None, Actor.agent(agent)))
    assert service.workspace.agents[agent].state is State.NOT_READY  # not left ahead of the database

    async with sql(service).engine.begin() as conn:
        await conn.execute(text("ALTER TABLE status_log_away RENAME TO status_log"))
    await service.execute(c.SetStatus(agent, State.ACTIVE, None, Actor.agent(agent)))
    assert service.workspace.agents[agent].state is State.ACTIVE


async def test_users_written_beside_the_services_commits_never_fail(service: Service) -> None:
    """Users (and new teams) written while the service commits, some into the same new
    team at once: nothing fails (on PostgreSQL two creations of one team collided)."""
    users = UserStore(sql(service))
    ids = await agents(service, 4)

    async def create(i: int) -> None:
        user = await users.create(
            username=f"late{i}", name=f"Late {i}", role="agent", team=f"team{i % 3}", password_hash=None, now=0
        )
        await users.add_token(user.id, f"{i:064d}", 0)

    async def flip(i: int) -> None:
        agent = ids[i % len(ids)]
        state = State.ACTIVE if i % 2 else State.NOT_READY
        await service.execute(c.SetStatus(agent, state, None, Actor.agent(agent)))

    await asyncio.gather(*(create(i) for i in range(40)), *(flip(i) for i in range(40)))
    assert len(await users.all()) == 44


async def busy_pair(service: Service, clients: int) -> tuple[int, int]:
    """Two active agents, and `clients` new clients writing in: threads routed between them."""
    first, second = await agents(service, 2)
    for agent in (first, second):
        await service.execute(c.SetStatus(agent, State.ACTIVE, None, Actor.agent(agent)))
    for n in range(clients):
        await service.execute(c.ReceiveClientMessage(f"client-{n}", f"hello {n}"))
    return first, second


async def messages_of(service: Service, thread_id: int) -> list[int]:
    """A thread's message ids, from the messages table (the engine keeps no lists of them)."""
    rows = await sql(service).fetch(
        select(t.messages.c.id).where(t.messages.c.thread_id == thread_id).order_by(t.messages.c.id)
    )
    return [row.id for row in rows]


async def pin(service: Service, thread_id: int, message_id: int, agent_id: int, pinned: bool = True) -> None:
    """As the API pins: the message's own thread read from the messages table first."""
    written_in = await sql(service).message_thread(message_id)
    await service.execute(c.PinMessage(thread_id, message_id, agent_id, pinned, written_in))


async def test_open_threads_come_back_from_the_database_with_their_pins(service: Service) -> None:
    """R8 after a restart: each open thread's pins (what the engine counts per agent), read
    back as the engine held them; closed threads' pins stay out."""
    await busy_pair(service, clients=6)
    ws = service.workspace
    held = {thread.id: thread.agent_id for thread in ws.threads.values() if thread.agent_id is not None}
    assert len(held) >= 2
    for thread_id, agent in list(held.items()):
        assert agent is not None
        await service.execute(c.Answer(thread_id, agent, "on it"))
        await service.execute(c.ReceiveClientMessage(ws.threads[thread_id].client_id, "thanks"))
    pinned_thread, closed_thread = list(held)[:2]
    pin_holder = held[pinned_thread]
    assert pin_holder is not None
    for message_id in (await messages_of(service, pinned_thread))[1:]:
        await pin(service, pinned_thread, message_id, pin_holder)
    closer = held[closed_thread]
    assert closer is not None
    await pin(service, closed_thread, (await messages_of(service, closed_thread))[0], closer)
    await service.execute(c.CloseThread(closed_thread, Actor.agent(closer)))

    expected = {t.id: t.pinned for t in ws.threads.values()}
    assert len(expected[pinned_thread]) == 2 and closed_thread not in expected
    snapshot = await service.store.load_snapshot(service.now())
    assert {t.id: t.pinned for t in snapshot.threads} == expected


async def test_r8_a_pin_is_checked_against_the_messages_table(service: Service) -> None:
    """R8: only a message of the thread itself is pinned; another thread's message, or one that
    does not exist, is not found, and nothing changes."""
    first, _ = await busy_pair(service, clients=2)
    ws = service.workspace
    mine = next(thread for thread in ws.threads.values() if thread.agent_id == first)
    other = next(thread for thread in ws.threads.values() if thread.id != mine.id)
    others_message = (await messages_of(service, other.id))[0]
    for message_id in (others_message, 10**9, 2**63):
        with pytest.raises(NotFound) as refused:
            await pin(service, mine.id, message_id, first)
        assert refused.value.field == "message_id"
    assert not mine.pinned and ws.agents[first].pinned == 0
    own = (await messages_of(service, mine.id))[0]
    await pin(service, mine.id, own, first)
    assert mine.pinned == (own,) and ws.agents[first].pinned == 1


async def test_thread_rows_list_the_same_pins_as_the_messages_table(service: Service) -> None:
    """R8: an open thread's row carries its pins (what the start reads), and they agree with
    the messages table after answers, pins in any order, an unpin, a transfer and a close; a
    closed thread's row lists none."""
    first, second = await busy_pair(service, clients=4)
    ws = service.workspace
    threads = [thread for thread in ws.threads.values() if thread.agent_id is not None]
    assert len(threads) >= 3
    for thread in threads:
        assert thread.agent_id is not None
        await service.execute(c.Answer(thread.id, thread.agent_id, "on it"))
        await service.execute(c.ReceiveClientMessage(thread.client_id, "thanks"))
    pinned, transferred, closed = threads[:3]
    holder = pinned.agent_id
    assert holder is not None
    own = await messages_of(service, pinned.id)
    for message_id in (own[2], own[1], own[0]):
        await pin(service, pinned.id, message_id, holder)
    await pin(service, pinned.id, own[0], holder, pinned=False)
    assert pinned.pinned == (own[2], own[1])  # the order they were pinned in
    target = first if transferred.agent_id == second else second
    await service.execute(c.Transfer(transferred.id, target, Actor.supervisor(0)))
    assert closed.agent_id is not None
    await pin(service, closed.id, (await messages_of(service, closed.id))[0], closed.agent_id)
    await service.execute(c.CloseThread(closed.id, Actor.agent(closed.agent_id)))

    async with sql(service).engine.connect() as conn:
        rows = {r.id: r for r in (await conn.execute(select(t.threads))).all()}
        messages = (await conn.execute(select(t.messages).order_by(t.messages.c.id))).all()
    for thread in ws.threads.values():
        row = rows[thread.id]
        assert sorted(map(int, filter(None, row.pinned_ids.split(",")))) == sorted(
            m.id for m in messages if m.thread_id == thread.id and m.pinned
        )
        assert row.pinned_ids == ",".join(map(str, thread.pinned))
    assert (rows[closed.id].state, rows[closed.id].pinned_ids) == ("closed", "")


async def test_client_owners_come_back_from_the_database_oldest_first_within_the_window(service: Service) -> None:
    """R4 after a restart: who owns each client and since when, read back (from the owners'
    index alone) in the order they were won; an owner older than the affinity window stays
    out, as the engine had already let it go."""
    await service.execute(c.ChangeSettings({"client_affinity_timeout": 600.0}))
    await busy_pair(service, clients=4)
    ws = service.workspace
    clock = service.clock
    assert isinstance(clock, ManualClock)
    closed = 0
    while ws.threads:
        for thread in [th for th in ws.threads.values() if th.agent_id is not None and not th.answered_once]:
            assert thread.agent_id is not None
            await service.execute(c.Answer(thread.id, thread.agent_id, "on it"))  # nobody waits: no S6
        thread = next(th for th in ws.threads.values() if th.agent_id is not None)
        assert thread.agent_id is not None
        await service.execute(c.CloseThread(thread.id, Actor.agent(thread.agent_id)))
        closed += 1
        clock.advance(700 if closed == 1 else 60)  # the first owner falls out of the window

    owners = sorted(ws.affinity.items(), key=lambda owner: owner[2])
    assert len(owners) == closed - 1 == 3
    snapshot = await service.store.load_snapshot(service.now())
    assert snapshot.owners == owners
