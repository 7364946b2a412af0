"""The store's contract (storage/base.py): every implementation passes these tests.

One suite over every backend, as Litestar tests its stores and channel
backends: the tests see only the `Store` interface; the fixture makes each
backend (today `SqlStore` on SQLite and on PostgreSQL) and whatever it needs
beside (the SQL store's agents are users first: a foreign key). A new backend
joins the fixture's `params` and must pass as it stands.

What the service relies on: an engine rebuilt from what was committed is the
engine that committed it; the journal comes back numbered from 1, in commit
order, whole; each agent's last activity is where their timeline goes on.
The batches committed here are made as the service makes them: real commands
through the engine, each command's rows (storage/projection.py) and journal
entries (service/_audience.py) recorded right after it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError
from onduty.domain.events import Event
from onduty.domain.pickers import RoundRobin
from onduty.domain.restore import restore
from onduty.domain.settings import Settings
from onduty.domain.types import Actor, State
from onduty.journal import JournalEntry, StoredEvent
from onduty.service._audience import Journal
from onduty.service.command_codec import encode_batch
from onduty.storage.activity import ActivityTracker
from onduty.storage.base import Store
from onduty.storage.database import Database
from onduty.storage.projection import LoggedBatch, Rows
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.unit.engine_helpers import snapshot

AGENTS = 6
SUPERVISOR = Actor.supervisor(900)
START = 1_700_000_000.0
INSTANCES = ("", "a", "b")  # S8: where a stream may be open ("": a service alone)


@dataclass
class Backend:
    store: Store
    agent_ids: list[int]  # agents the backend can hold (the SQL store's are users first)


@pytest.fixture(params=["sql"])
async def backend(request: pytest.FixtureRequest, database: Database) -> AsyncIterator[Backend]:
    """Each backend, empty (SQL: over a clean database of each kind, `database`)."""
    assert request.param == "sql"
    store = SqlStore(database)
    users = UserStore(store)
    ids = [
        (await users.create(username=f"agent{i}", name=f"A{i}", role="agent", team=None, password_hash=None, now=0)).id
        for i in range(AGENTS)
    ]
    try:
        yield Backend(store, ids)
    finally:
        await store.close()


@dataclass
class Recorder:
    """An engine whose every command or tick is committed as the service commits it."""

    store: Store
    engine: Engine = field(default_factory=Engine)
    journal: Journal = field(default_factory=Journal)
    tracker: ActivityTracker = field(default_factory=ActivityTracker)
    now: float = START
    stored: list[StoredEvent] = field(default_factory=list)

    async def do(self, *commands: c.Command, tick: bool = False, refused_ok: bool = False) -> list[StoredEvent]:
        """One batch: a tick (if asked) and `commands`, in one commit."""
        ws = self.engine.workspace
        rows = Rows(tracker=self.tracker)

        def record(events: list[Event]) -> None:  # right after its command, as of its moment
            rows.add(events, ws)
            self.journal.add(events, ws, rows.journal)

        ticked = self.engine.tick(self.now) if tick else []
        if tick:
            record(ticked)
        applied: list[c.Command] = []
        for command in commands:
            try:
                record(self.engine.handle(command, self.now))
            except DomainError:
                if not refused_ok:
                    raise
            else:
                rows.add_command(command)  # its row, when it changed one without an event
                applied.append(command)
        if isinstance(ws.picker, RoundRobin):
            rows.meta["round_robin_last"] = ws.picker.last
        if ticked or applied:  # as the service: every batch that changed the engine is logged
            rows.log = LoggedBatch(ws.clock, tick, encode_batch(applied))
        if not rows:
            return []
        stored = await self.store.commit(rows, rows.agent_rows(ws))
        self.stored += stored
        return stored

    async def later(self, seconds: float) -> None:
        self.now += seconds
        await self.do(tick=True)

    async def comes_back(self) -> None:
        """The engine rebuilt from the store is the one that committed (but for what the
        store does not keep: see `lasting`)."""
        loaded = restore(await self.store.load_snapshot(self.now))
        assert lasting(loaded) == lasting(self.engine)


def lasting(engine: Engine) -> dict[str, Any]:
    """What an engine holds that outlives a restart: all of it, but the agents' usernames
    (the users', not the engine's commits), the pages' input (not kept, restore.py), the
    queue's internal numbering, the timers' stale entries, the clock (the last event's
    time: `test_the_clock_comes_back_as_the_last_events_time`) and the reasons' order."""
    state = snapshot(engine)
    for agent in state["agents"].values():
        for name in ("username", "last_input", "idle_deadline"):
            del agent[name]
    for thread in state["threads"].values():
        del thread["queue_seq"]
    # Saved reasons come back in no particular order (nothing keeps the order they were made
    # in: on PostgreSQL a reason changed comes back last): the same reasons, by code.
    state["reasons"].sort(key=lambda reason: reason["code"])
    del state["timers"], state["clock"]
    return state


def entries(count: int, start: int = 0) -> list[JournalEntry]:
    return [
        JournalEntry(f"test.e{i}", START + i, {"n": i, "text": f"é{i}", "deep": {"list": [i, None]}}, {"agents": [i]})
        for i in range(start, start + count)
    ]


# -- an empty store -------------------------------------------------------------------------------


async def test_a_new_store_holds_no_state_and_no_journal(backend: Backend) -> None:
    store = backend.store
    loaded = await store.load_snapshot(START)
    assert (loaded.agents, loaded.threads, loaded.requests, loaded.owners, loaded.reasons) == ([], [], [], [], [])
    assert loaded.settings == Settings()
    assert (loaded.next_thread_id, loaded.next_message_id, loaded.next_request_id) == (1, 1, 1)
    assert (loaded.clock, loaded.round_robin_last) == (float("-inf"), -1)
    assert await store.last_event_id() == 0
    assert await store.events_after(0, 10) == []
    assert (await store.last_activity()).last == {}


# -- the engine's lasting state -------------------------------------------------------------------


async def test_the_engine_comes_back_as_it_was_committed(backend: Backend) -> None:
    """Every kind of row, each checked when it was written: agents in every condition,
    threads queued, held, answered, pinned, transferred, closed and waiting for their
    owner (R4), approvals pending and decided, reasons, settings, the round-robin's place,
    prompts (S6), a disconnection's grace (S8) and an agent overdue in a break (S10)."""
    rec = Recorder(backend.store)
    first, second, third, fourth = backend.agent_ids[:4]
    await rec.do(
        *(c.RegisterAgent(a, "team-a" if a in (first, second) else "team-b", 1 if a == third else None)
          for a in (first, second, third, fourth)),
        c.AddReason("coaching", "Coaching", max_minutes=1),  # S10
        c.AddReason("needs_ok", "Training (approved)", requires_approval=True),
        c.ChangeSettings({"response_timeout": 60.0, "prompt_timeout": 30.0, "affinity_wait": 20.0}),
    )  # fmt: skip
    await rec.comes_back()
    await rec.do(*(c.Login(a) for a in (first, second, third, fourth)), c.Connect(first), c.Connect(second))
    await rec.do(
        c.SetStatus(first, State.ACTIVE, None, Actor.agent(first)), c.SetStatus(second, State.ACTIVE, None, SUPERVISOR)
    )
    await rec.comes_back()

    rec.now += 1
    await rec.do(*(c.ReceiveClientMessage(f"client{n}", f"hello {n}", priority=n % 2) for n in range(5)))
    await rec.comes_back()
    ws = rec.engine.workspace
    held = sorted((t for t in ws.threads.values() if t.agent_id is not None), key=lambda t: t.id)
    answered, pinned, moved = held[0], held[1], held[2]
    assert answered.agent_id is not None and pinned.agent_id is not None and moved.agent_id is not None
    rec.now += 1
    await rec.do(c.Answer(answered.id, answered.agent_id, "on it"), c.Answer(pinned.id, pinned.agent_id, "here"))
    message = ws.next_message_id - 1
    await rec.do(c.PinMessage(pinned.id, message, pinned.agent_id, True, pinned.id))
    await rec.do(c.SetStatus(third, State.ACTIVE, None, Actor.agent(third)))
    target = first if moved.agent_id != first else second
    await rec.do(c.Transfer(moved.id, target, SUPERVISOR))
    await rec.comes_back()

    rec.now += 1
    owner = answered.agent_id
    await rec.do(c.CloseThread(answered.id, Actor.agent(owner)))
    await rec.do(c.SetStatus(owner, State.INACTIVE, "coaching", Actor.agent(owner)))
    await rec.do(c.ReceiveClientMessage(answered.client_id, "me again"))  # R4: waits for its owner
    assert any(t.reserved_for == owner for t in ws.threads.values())
    await rec.comes_back()

    await rec.do(
        c.SetStatus(fourth, State.INACTIVE, "needs_ok", Actor.agent(fourth)),  # pending
        c.ChangeReason("coaching", label="Coaching (1:1)"),
        c.ChangeSettings({"strategy": "round_robin", "disconnect_grace": 45.0}),
    )
    assert ws.requests
    await rec.comes_back()

    await rec.do(c.Disconnect(second))  # S8: the grace runs
    await rec.later(61)  # S6: prompts for unanswered threads; S10: overdue in coaching
    assert any(a.prompt_deadline is not None for a in ws.agents.values())
    assert ws.agents[owner].overdue and [e.name for e in rec.stored].count("agent.overdue") == 1
    await rec.comes_back()
    await rec.later(31)  # kicked out: threads back in the queue, round-robin's turn taken
    await rec.do(c.ReceiveClientMessage("late", "anyone?"))
    await rec.comes_back()
    await rec.later(400)
    await rec.comes_back()


async def test_random_commands_come_back_as_committed(backend: Backend) -> None:
    """Many commands of every kind in random batches (refused ones included: they write
    nothing), the engine rebuilt from the store now and then (S10's overdue marks included)."""
    rng = random.Random(20)
    rec = Recorder(backend.store)
    agents = backend.agent_ids
    await rec.do(*(c.RegisterAgent(a, f"team{a % 2}", rng.choice((None, 1, 2))) for a in agents))
    await rec.do(
        c.AddReason("needs_ok", "Approved break", requires_approval=True),
        c.ChangeReason("lunch", max_minutes=1),  # S10: overdue marks come back as they were
        c.ChangeSettings({"response_timeout": 60.0, "prompt_timeout": 30.0, "affinity_wait": 20.0}),
    )
    for batch in range(60):
        rec.now += rng.choice((0.5, 2, 20, 61))
        commands = [_random_command(rng, rec.engine, agents) for _ in range(rng.randrange(1, 5))]
        await rec.do(*commands, tick=True, refused_ok=True)
        if batch % 10 == 9:
            await rec.comes_back()
    await rec.comes_back()


def _random_command(rng: random.Random, engine: Engine, agents: list[int]) -> c.Command:
    ws = engine.workspace
    agent = rng.choice(agents)
    by = rng.choice((Actor.agent(agent), SUPERVISOR))
    threads = sorted(ws.threads.values(), key=lambda t: t.id)
    thread = rng.choice(threads) if threads else None
    roll = rng.random()
    if roll < 0.1:
        return c.Login(agent)
    if roll < 0.3:
        return c.SetStatus(agent, rng.choice(list(State)), rng.choice((None, "lunch", "needs_ok")), by)
    if roll < 0.35:
        on = rng.choice(INSTANCES)
        return rng.choice((c.Connect(agent, on), c.Disconnect(agent, on), c.DropInstance(on), c.Logout(agent, by)))
    if roll < 0.55 or thread is None:
        return c.ReceiveClientMessage(f"client{rng.randrange(8)}", "hello", rng.choice((0, 0, 5)))
    holder = thread.agent_id if thread.agent_id is not None else agent
    if roll < 0.7:
        return c.Answer(thread.id, holder, "answer")
    if roll < 0.78:
        return c.CloseThread(thread.id, Actor.agent(holder))
    if roll < 0.84:
        return c.Transfer(thread.id, agent, SUPERVISOR)
    if roll < 0.9:
        return c.PinMessage(thread.id, rng.randrange(1, ws.next_message_id), holder, rng.random() < 0.8, thread.id)
    if roll < 0.95 and ws.requests:
        return c.DecideApproval(rng.choice(sorted(ws.requests)), rng.random() < 0.5, SUPERVISOR)
    return c.ChangeSettings({"strategy": rng.choice(("round_robin", "least_busy", "longest_idle"))})


async def test_the_clock_comes_back_as_the_last_events_time(backend: Backend) -> None:
    """Every event carries the engine's time, which never runs backwards: the last one
    stored tells where the clock was."""
    rec = Recorder(backend.store)
    [agent, *_] = backend.agent_ids
    await rec.do(c.RegisterAgent(agent, "team", None))
    rec.now += 30
    [*_, last] = await rec.do(c.Login(agent))
    assert (await backend.store.load_snapshot(rec.now + 100)).clock == last.at == rec.now


async def test_each_agents_last_activity_is_where_their_timeline_goes_on(backend: Backend) -> None:
    rec = Recorder(backend.store)
    first, second, *_ = backend.agent_ids
    await rec.do(c.RegisterAgent(first, "team", None), c.RegisterAgent(second, "team", None))
    await rec.do(c.Login(first), c.Login(second))
    rec.now += 5
    await rec.do(c.SetStatus(first, State.ACTIVE, None, Actor.agent(first)))
    rec.now += 5
    await rec.do(c.ReceiveClientMessage("client", "hello"))
    assert (await backend.store.last_activity()).last == rec.tracker.last
    assert set(rec.tracker.last) == {first, second}


# -- the journal ----------------------------------------------------------------------------------


async def test_the_journal_is_numbered_from_one_in_commit_order_and_read_back_whole(backend: Backend) -> None:
    store = backend.store
    first = await store.commit(Rows(journal=entries(3)), [])
    second = await store.commit(Rows(journal=entries(1, start=3)), [])
    third = await store.commit(Rows(journal=entries(4, start=4)), [])
    stored = [*first, *second, *third]
    assert [e.id for e in stored] == list(range(1, 9))
    assert [(e.name, e.at, e.data, e.scope) for e in stored] == [(e.name, e.at, e.data, e.scope) for e in entries(8)]
    assert await store.last_event_id() == 8
    assert await store.events_after(0, 100) == stored
    assert await store.events_after(2, 3) == stored[2:5]
    assert await store.events_after(8, 10) == []


async def test_rows_without_journal_entries_take_no_id(backend: Backend) -> None:
    store = backend.store
    assert await store.commit(Rows(), []) == []
    assert [e.id for e in await store.commit(Rows(journal=entries(2)), [])] == [1, 2]
    assert await store.commit(Rows(settings={"disconnect_grace": 30.0}), []) == []
    assert [e.id for e in await store.commit(Rows(journal=entries(1)), [])] == [3]
    assert (await store.load_snapshot(START)).settings.disconnect_grace == 30.0
