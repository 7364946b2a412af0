"""The command log and a follower on a real database (SQLite and PostgreSQL).

A real `Service` runs a long random sequence of commands with a manual clock (timers
firing as time passes), while followers tail the log: one from the start, one started
mid-run from a snapshot. At checkpoints and at the end every follower's engine equals
the owner's (ENGINEERING.md, "Scale-out": followers are warm standbys)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.types import Actor, State
from onduty.service.clock import ManualClock
from onduty.service.command_codec import decode_batch
from onduty.service.follower import Follower, FollowerDiverged
from onduty.service.service import Service
from onduty.storage import schema as t
from onduty.storage.database import Database
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.unit.test_follower_replay import whole_state

SUPERVISOR = Actor.supervisor(100)


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    store = SqlStore(database)
    yield store
    await store.close()


async def started(store: SqlStore, clock: ManualClock) -> Service:
    service = Service(store, clock=clock)
    await service.start()
    return service


async def add_agents(service: Service, store: SqlStore, n: int) -> list[int]:
    users = UserStore(store)
    ids = []
    for i in range(n):
        user = await users.create(username=f"a{i}", name=f"A{i}", role="agent", team=None, password_hash=None, now=0)
        await service.execute(
            c.RegisterAgent(
                user.id, "t" if i % 2 else "u", None if i % 3 else 2, name=user.name, username=user.username
            )
        )
        ids.append(user.id)
    return ids


def refuse(_: object) -> None:
    raise LookupError("refused by the caller's check")


async def logged(store: SqlStore) -> list[tuple[bool, list[c.Command], int | None]]:
    rows = await store.fetch(select(t.command_log).order_by(t.command_log.c.id))
    return [(bool(r.tick), decode_batch(r.commands), r.last_event_id) for r in rows]


async def test_each_committed_batch_logs_the_commands_it_applied(store: SqlStore) -> None:
    """The start's ResetConnections, applied commands in order, never a refused one (by the
    engine or by the caller's check); input without an event is logged too; each row names
    the journal's last id after it, and a batch that fails to commit logs nothing."""
    clock = ManualClock()
    service = await started(store, clock)
    try:
        [agent] = await add_agents(service, store, 1)
        await service.execute(c.Login(agent))
        with pytest.raises(DomainError):
            await service.execute(c.SetStatus(agent, State.KICKED_OUT, None, Actor.agent(agent)))
        with pytest.raises(LookupError):
            await service.execute(c.Logout(agent, Actor.agent(agent)), check=refuse)
        await service.execute(c.Connect(agent))
        await service.execute(c.ReportInput(agent))  # no event, but the idle clock moved
        log = await logged(store)
        assert [commands for _, commands, _ in log] == [
            [c.ResetConnections()],
            [c.RegisterAgent(agent, "u", 2, name="A0", username="a0")],
            [c.Login(agent)],
            [c.Connect(agent)],
            [c.ReportInput(agent)],
        ]
        assert all(tick for tick, _, _ in log)
        assert log[-1][2] is None and log[-2][2] == await store.last_event_id()
        assert (await store.fetch(select(t.agents.c.last_input)))[0][0] == clock.now()
    finally:
        await service.stop()


class Floor:
    """Random but realistic commands against a service, from a seeded generator."""

    def __init__(self, service: Service, clock: ManualClock, agents: list[int], seed: int) -> None:
        self.service, self.clock, self.agents = service, clock, agents
        self.rng = random.Random(seed)

    async def step(self) -> None:
        rng, ws = self.rng, self.service.workspace
        agent = rng.choice(self.agents)
        threads = sorted(ws.threads)
        roll = rng.random()
        command: c.Command
        if roll < 0.25:
            state = rng.choice((State.ACTIVE, State.ACTIVE, State.NOT_READY, State.INACTIVE, State.OFFLINE))
            reason = rng.choice(("lunch", "short_break")) if state is State.INACTIVE else None
            command = c.SetStatus(agent, state, reason, rng.choice((Actor.agent(agent), SUPERVISOR)))
        elif roll < 0.32:
            command = c.Login(agent)
        elif roll < 0.5:
            command = c.ReceiveClientMessage(f"client-{rng.randrange(30)}", "hello", rng.choice((0, 0, 5)))
        elif roll < 0.62 and threads:
            thread = ws.threads[rng.choice(threads)]
            command = c.Answer(thread.id, thread.agent_id or agent, "on it")
        elif roll < 0.72 and threads:
            command = c.CloseThread(rng.choice(threads), SUPERVISOR)
        elif roll < 0.76 and threads:
            command = c.Transfer(rng.choice(threads), agent, SUPERVISOR)
        elif roll < 0.82:
            on = rng.choice(("", "a", "b"))  # S8: the instance the stream is on
            command = rng.choice((c.Connect(agent, on), c.Disconnect(agent, on), c.ReportInput(agent)))
        elif roll < 0.83:
            command = c.DropInstance(rng.choice(("a", "b")))
        elif roll < 0.84:
            command = c.ContinueWorking(agent)
        elif roll < 0.86:
            command = c.ChangeSettings(
                rng.choice(
                    (
                        {"strategy": rng.choice(("least_busy", "longest_idle", "round_robin"))},
                        {"response_timeout": rng.choice((30, 60.0))},
                        {"affinity_wait": rng.choice((0, 20))},
                        {"idle_timeout": rng.choice((0, 150))},
                        {"on_logout": rng.choice(("requeue", "keep"))},
                    )
                )
            )
        elif roll < 0.87:
            command = c.ChangeAgent(agent, capacity=rng.choice((1, 2, 4)))
        else:
            self.clock.advance(rng.choice((0.5, 5, 20, 31, 61, 200)))
            await self.service.settle()  # the timers due fire, in a batch of their own
            return
        with contextlib.suppress(DomainError):
            await self.service.execute(command)


async def test_a_follower_applies_the_log_to_the_owners_state(store: SqlStore) -> None:
    clock = ManualClock()
    service = await started(store, clock)
    early = Follower(store)
    await early.start()
    late: list[Follower] = []  # started mid-run, from snapshots
    try:
        agents = await add_agents(service, store, 6)
        await service.execute(c.ChangeSettings({"idle_timeout": 150, "disconnect_grace": 30}))
        await service.execute(c.ChangeReason("lunch", max_minutes=1))  # S10: overdue marks replayed and restored
        floor = Floor(service, clock, agents, seed=20261206)
        for step in range(1, 1201):
            await floor.step()
            if step % 150 == 0:
                await service.settle()
                await early.catch_up()
                assert whole_state(early.engine) == whole_state(service.engine), f"after step {step}"
                assert early.applied_event_id == await store.last_event_id()
            if step % 200 == 100:
                late.append(Follower(store))
                await late[-1].start()
        await service.settle()
        assert len(late) == 6
        for follower in (early, *late):
            await follower.catch_up()
            assert whole_state(follower.engine) == whole_state(service.engine)
            assert await follower.read(lambda ws: [t.id for t in ws.queue.in_order()]) == [
                t.id for t in service.workspace.queue.in_order()
            ]
        assert {f.applied_log_id for f in late} == {early.applied_log_id}
        assert early.applied_log_id > 1000
        assert len(service.workspace.threads) > 0 and len(service.workspace.agents) == 6
        told = await store.fetch(select(t.events.c.id).where(t.events.c.name == "agent.overdue"))
        assert told, "S10: some agent was overdue on the way"
    finally:
        await service.stop()


async def test_a_promoted_follower_is_the_owner_without_a_rebuild(store: SqlStore) -> None:
    clock = ManualClock()
    service = await started(store, clock)
    follower = Follower(store)
    await follower.start()
    agents = await add_agents(service, store, 3)
    for agent in agents:
        await service.execute(c.Login(agent))
        await service.execute(c.SetStatus(agent, State.ACTIVE, None, Actor.agent(agent)))
    await service.execute(c.ReceiveClientMessage("client-1", "hello"), key="retry-me:1")
    await service.stop()
    engine, keys = await follower.promote()
    successor = Service(store, clock=clock)
    await successor.start(engine=engine, keys=keys)
    try:
        assert successor.engine is engine
        outcome = await successor.execute(c.ReceiveClientMessage("client-2", "hello"))
        assert [e.name for e in outcome.events][:1] == ["thread.created"]
        assert len(successor.workspace.threads) == 2
        # The first owner's keyed command, retried on the successor: not applied twice.
        again = await successor.execute(c.ReceiveClientMessage("client-1", "hello"), key="retry-me:1")
        assert again.repeated and again.events == []
        assert len(successor.workspace.threads) == 2
    finally:
        await successor.stop()


async def test_a_follower_behind_batches_pruned_from_the_log_reads_a_new_copy(store: SqlStore) -> None:
    """The owner prunes the log by age; a copy that never applied the pruned batches cannot
    go on from the log and is rebuilt from the database, equal to the owner's again. Pruning
    keeps the last batch, where a new copy stands (SQLite would give its id out again)."""
    clock = ManualClock()
    service = await started(store, clock)
    stale = Follower(store, clock=clock)
    await stale.start()
    try:
        agents = await add_agents(service, store, 2)
        for agent in agents:
            await service.execute(c.Login(agent))
        clock.advance(4000.0)  # past the hour the log keeps, and the copy's worry
        await service.execute(c.SetStatus(agents[0], State.ACTIVE, None, Actor.agent(agents[0])))
        pruned = await store.prune_command_log(clock.now() - 3600.0)
        assert pruned > 0
        assert await store.pruned_through() > stale.applied_log_id
        with pytest.raises(FollowerDiverged):
            await stale.catch_up()
        await stale.start()  # what the tailing loop does on FollowerDiverged
        await stale.catch_up()
        assert whole_state(stale.engine) == whole_state(service.engine)

        await store.prune_command_log(clock.now() + 1.0)  # everything it may
        assert len(await logged(store)) == 1
        fresh = Follower(store, clock=clock)
        await fresh.start()
        assert fresh.applied_log_id > await store.pruned_through() > 0
        await service.execute(c.SetStatus(agents[1], State.ACTIVE, None, Actor.agent(agents[1])))
        assert await fresh.catch_up() == 1
        assert whole_state(fresh.engine) == whole_state(service.engine)
    finally:
        await service.stop()
