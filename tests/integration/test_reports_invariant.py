"""P2 over random histories: for every agent, the times across statuses add up exactly
to the part of the report's period the agent existed in, and occupancy stays a share.

Random command sequences go through the real service on a virtual clock into a
real (SQLite) database; the report reads it back. The SQL is the same on
PostgreSQL, which the hand-computed tests run too.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.types import Actor, State
from onduty.reports.workload import workload
from onduty.service.clock import ManualClock
from onduty.service.service import Service
from onduty.storage import schema as t
from onduty.storage.database import resolve
from onduty.storage.store import Store
from onduty.storage.users import UserStore

START = 1_800_000_000.0
AGENTS = 3
STATES = (State.ACTIVE, State.NOT_READY, State.ACTIVE_OWN_CLIENTS, State.INACTIVE, State.OFFLINE)

step = st.one_of(
    st.tuples(st.just("wait"), st.floats(min_value=1, max_value=900)),
    st.tuples(st.just("status"), st.integers(0, AGENTS - 1), st.sampled_from(STATES)),
    st.tuples(st.just("client"), st.integers(0, 5)),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.just("close"), st.integers(0, 20)),
    st.tuples(st.just("transfer"), st.integers(0, 20), st.integers(0, AGENTS - 1)),
    st.tuples(st.just("login"), st.integers(0, AGENTS - 1)),
)


async def play(db_path: Path, steps: list[tuple[object, ...]], window: tuple[float, float]) -> None:
    store = Store(resolve(f"sqlite:///{db_path}"))
    clock = ManualClock(START)
    service = Service(store, clock=clock)
    await service.start()
    try:
        users = UserStore(store)
        ids: list[int] = []
        for i in range(AGENTS):
            clock.advance(120 * i)  # agents join at different times
            user = await users.create(
                username=f"a{i}", name=f"A{i}", role="agent", team="t", password_hash=None, now=clock.now()
            )
            await service.execute(c.RegisterAgent(user.id, "t", None, name=user.name, username=user.username))
            ids.append(user.id)
        for action in steps:
            await apply(service, clock, ids, action)
        start = START + window[0] * (clock.now() - START)
        end = start + window[1] * (clock.now() + 600 - start)
        now = clock.now()
        report = await workload(store, start=start, end=min(end, now))
        joined = {
            r.agent_id: r.at
            for r in await store.fetch(select(t.agent_activity).where(t.agent_activity.c.kind == "registered"))
        }
        for agent_id in ids:
            existed = max(0.0, min(end, now) - max(start, joined[agent_id]))
            totals = report.get(agent_id)
            counted = sum(totals.time_in_status.values()) if totals else 0.0
            assert abs(counted - existed) < 1e-6, (
                agent_id,
                counted,
                existed,
                dict(totals.time_in_status) if totals else {},
            )
            if totals is not None:
                assert 0 <= totals.holding <= totals.working + 1e-6
                assert all(n >= 0 for n in totals.counts.values())
    finally:
        await service.stop()
        await store.close()


async def apply(service: Service, clock: ManualClock, ids: list[int], action: tuple[object, ...]) -> None:
    kind = action[0]
    threads = sorted(service.workspace.threads)
    try:
        if kind == "wait":
            target = clock.now() + float(action[1])  # type: ignore[arg-type]
            while (deadline := service.engine.next_deadline()) is not None and deadline <= target:
                clock.set(deadline)
                await service.settle()
            clock.set(target)
            await service.settle()
        elif kind == "status":
            agent = ids[int(action[1])]  # type: ignore[call-overload]
            state = action[2]
            assert isinstance(state, State)
            reason = "lunch" if state is State.INACTIVE else None
            await service.execute(c.SetStatus(agent, state, reason, Actor.agent(agent)))
        elif kind == "login":
            await service.execute(c.Login(ids[int(action[1])]))  # type: ignore[call-overload]
        elif kind == "client":
            await service.execute(c.ReceiveClientMessage(f"client-{action[1]}", "hi"))
        elif threads:
            thread = service.workspace.threads[threads[int(action[1]) % len(threads)]]  # type: ignore[call-overload]
            if thread.agent_id is None:
                return
            holder = Actor.agent(thread.agent_id)
            if kind == "answer":
                await service.execute(c.Answer(thread.id, thread.agent_id, "ok"))
            elif kind == "close":
                await service.execute(c.CloseThread(thread.id, holder))
            else:
                await service.execute(c.Transfer(thread.id, ids[int(action[2])], holder))  # type: ignore[call-overload]
    except DomainError:
        pass  # refused commands change nothing; the history goes on


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(step, min_size=5, max_size=40),
    window=st.tuples(st.floats(0, 0.9), st.floats(0.05, 1.0)),
)
def test_p2_times_add_up_to_the_time_each_agent_existed(
    sqlite_template: Path, tmp_path_factory: object, steps: list[tuple[object, ...]], window: tuple[float, float]
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("history")))  # type: ignore[attr-defined]
    db_path = folder / "onduty.db"
    shutil.copy(sqlite_template, db_path)
    asyncio.run(play(db_path, steps, window))
