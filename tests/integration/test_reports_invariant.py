"""P2 over random histories: for every agent, the times across statuses add up exactly
to the part of the report's period the agent existed in, occupancy stays a share, and
the report (whole UTC days read from their daily sums) equals one summed here from the
activity rows themselves. Histories begin half an hour before a UTC midnight and
run over several days, so periods start and end anywhere in a day, and the test
checks that some of its periods hold whole days (the daily sums were read).

Random command sequences go through the real service on a virtual clock into a
real (SQLite) database; the report reads it back. The SQL is the same on
PostgreSQL, which the hand-computed tests run too.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.types import Actor, State
from onduty.reports.workload import Totals, whole_days, workload
from onduty.service.clock import ManualClock
from onduty.service.service import Service
from onduty.storage import schema as t
from onduty.storage.activity import DAY, day_of
from onduty.storage.database import resolve
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore

START = 20_833 * 86_400.0 - 1_800.0  # half an hour before a UTC midnight
AGENTS = 3
STATES = (State.ACTIVE, State.NOT_READY, State.ACTIVE_OWN_CLIENTS, State.INACTIVE, State.OFFLINE)

step = st.one_of(
    st.tuples(st.just("wait"), st.floats(min_value=1, max_value=900)),
    st.tuples(st.just("wait"), st.floats(min_value=3600, max_value=30 * 3600)),  # across days
    st.tuples(st.just("wait"), st.floats(min_value=20 * 3600, max_value=50 * 3600)),
    st.tuples(st.just("status"), st.integers(0, AGENTS - 1), st.sampled_from(STATES)),
    st.tuples(st.just("client"), st.integers(0, 5)),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.just("close"), st.integers(0, 20)),
    st.tuples(st.just("transfer"), st.integers(0, 20), st.integers(0, AGENTS - 1)),
    st.tuples(st.just("login"), st.integers(0, AGENTS - 1)),
)


async def play(db_path: Path, steps: list[tuple[object, ...]], window: tuple[float, float, bool]) -> bool:
    """Plays the history, checks the report over the window; whether it held a whole day."""
    store = SqlStore(resolve(f"sqlite:///{db_path}"))
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
        if window[2] and (day_of(start) + 1) * DAY - 600 < clock.now():
            # Ten minutes before the next midnight: spans that began before the period end in
            # its first whole day, where the report must clip them (_CROSSING).
            start = (day_of(start) + 1) * DAY - 600
        end = start + window[1] * (clock.now() + 600 - start)
        now = clock.now()
        report = await workload(store, start=start, end=min(end, now))
        first, last = whole_days(start, min(end, now))
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
        rows = await store.fetch(select(t.agent_activity).order_by(t.agent_activity.c.at, t.agent_activity.c.id))
        expected = from_rows(rows, start, min(end, now))
        assert set(report) == set(expected)
        for agent_id, totals in report.items():
            want = expected[agent_id]
            assert dict(totals.counts) == pytest.approx(dict(want.counts))
            for key in set(totals.time_in_status) | set(want.time_in_status):
                assert totals.time_in_status[key] == pytest.approx(want.time_in_status[key], abs=1e-6), key
            assert (totals.answer_seconds, totals.working, totals.holding) == pytest.approx(
                (want.answer_seconds, want.working, want.holding), abs=1e-6
            )
        return first < last
    finally:
        await service.stop()
        await store.close()


def from_rows(rows: Sequence[Any], start: float, end: float) -> dict[int, Totals]:
    """The report over [start, end) summed from the activity rows, one by one: each row in
    the period ends the span since `prev_at` (clipped to the start) and counts its kind; the
    last row before the end opens the span that runs to it."""
    per_agent: dict[int, Totals] = defaultdict(Totals)
    last: dict[int, Any] = {}
    for row in rows:
        if row.at >= end:
            break
        last[row.agent_id] = row
        if row.at < start:
            continue
        totals = per_agent[row.agent_id]
        if row.prev_at is not None:
            seconds = row.at - max(row.prev_at, start)
            totals.span(row.prev_state, row.prev_reason, seconds, seconds if row.prev_held else 0.0)
        if row.kind not in ("status", "registered"):
            totals.counts[row.kind] += 1
            totals.answer_seconds += row.seconds or 0.0
    for agent_id, row in last.items():
        seconds = end - max(row.at, start)
        per_agent[agent_id].span(row.state, row.reason, seconds, seconds if row.held else 0.0)
    return per_agent


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


def test_p2_times_add_up_to_the_time_each_agent_existed(sqlite_template: Path, tmp_path_factory: object) -> None:
    held_whole_days: list[bool] = []

    @settings(max_examples=25, deadline=None)
    @given(
        steps=st.lists(step, min_size=5, max_size=40),
        # Where the period starts and how much of the rest it takes, as fractions of the
        # history; often all of it, from before the first midnight; or from just before a later one.
        window=st.tuples(
            st.one_of(st.just(0.0), st.floats(0, 0.9)), st.one_of(st.just(1.0), st.floats(0.05, 1.0)), st.booleans()
        ),
    )
    def check(steps: list[tuple[object, ...]], window: tuple[float, float, bool]) -> None:
        folder = Path(str(tmp_path_factory.mktemp("history")))  # type: ignore[attr-defined]
        db_path = folder / "onduty.db"
        shutil.copy(sqlite_template, db_path)
        held_whole_days.append(asyncio.run(play(db_path, steps, window)))

    check()
    assert any(held_whole_days), "no period held a whole day: the daily sums went untested"
