"""The workload report (P2) over a month of a large team (docs/performance.md, reports).

Fills a fresh database with 1,000 agents x 30 days of history: each agent
changes status about 33 times a day (~1,000,000 status changes) and handles
threads (received, answered, closed: ~3 activity rows per thread), written
straight into the tables the service writes, then times the report for the
whole month (median of 3). Goal: under 5 s. The daily sums the service
writes beside the rows (agent_activity_days) are written too, and the same
report read from the rows alone is timed beside it, with its totals checked
equal.

Run: .venv/bin/python bench/bench_reports.py [--agents 1000] [--days 30]
         [--database postgresql://postgres@127.0.0.1:5432/bench_reports]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bulk import insert_rows
from onduty.reports.workload import Totals, workload
from onduty.storage import schema as t
from onduty.storage._write_plan import DAY_COLUMNS, placeholders
from onduty.storage.activity import DAY, day_sums
from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade
from onduty.storage.store import SqlStore
from onduty.usernames import skeleton

START = 1_800_000_000.0
CHUNK = 20_000
CYCLE = ("not_ready", "active", "inactive", "active", "active_own_clients", "active", "finishing", "inactive")


def history(agent_id: int, days: int, per_day: int, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    team = f"team-{agent_id % 20}"
    base = {"agent_id": agent_id, "team": team, "thread_id": None, "seconds": None}
    rows.append(base | {"at": START - 1, "kind": "registered", "state": "offline", "reason": None, "held": 0})
    for day in range(days):
        t0 = START + day * DAY + 7 * 3600
        times = sorted(t0 + rng.random() * 10 * 3600 for _ in range(per_day))
        held = 0
        for i, at in enumerate(times):
            state = CYCLE[i % len(CYCLE)]
            reason = "lunch" if state == "inactive" else None
            rows.append(base | {"at": at, "kind": "status", "state": state, "reason": reason, "held": held})
            if state == "active":
                held = min(3, held + 1)
                rows.append(base | {"at": at + 1, "kind": "received", "state": state, "reason": None, "held": held})
                rows.append(base | {"at": at + 31, "kind": "answered", "state": state, "reason": None, "held": held,
                                    "seconds": 30.0})  # fmt: skip
                held -= 1
                rows.append(base | {"at": at + 300, "kind": "closed", "state": state, "reason": None, "held": held})
        rows.append(base | {"at": t0 + 11 * 3600, "kind": "status", "state": "offline", "reason": None, "held": 0})
    rows.sort(key=lambda r: r["at"])
    previous: dict[str, Any] | None = None
    for row in rows:  # as the service's writer does: each row ends the span of the one before
        if previous is None:
            row.update(prev_at=None, prev_state=None, prev_reason=None, prev_held=None)
        else:
            row.update(
                prev_at=previous["at"],
                prev_state=previous["state"],
                prev_reason=previous["reason"],
                prev_held=previous["held"],
            )
        previous = row
    return rows


async def fill(store: SqlStore, agents: int, days: int, per_day: int) -> int:
    rng = random.Random(7)
    async with store.engine.begin() as conn:
        await conn.execute(t.teams.insert(), [{"name": f"team-{i}", "created_at": START} for i in range(20)])
        await conn.execute(
            t.users.insert(),
            [
                {"id": a, "username": f"agent{a}", "username_skeleton": skeleton(f"agent{a}"), "name": f"Agent {a}",
                 "role": "agent", "team": f"team-{a % 20}",
                 "password_hash": None, "active": True, "created_at": START - 1}
                for a in range(1, agents + 1)
            ],
        )  # fmt: skip
        await conn.execute(
            t.agents.insert(),
            [
                {"id": a, "team": f"team-{a % 20}", "capacity": None, "name": f"Agent {a}", "state": "offline",
                 "reason": None, "since": START, "set_by_kind": "system", "set_by_id": None, "set_by_why": None,
                 "before_logout_state": None, "before_logout_reason": None, "ever_logged_in": True,
                 "last_assigned_at": None, "idle_since": None, "working_since": None, "prompt_deadline": None}
                for a in range(1, agents + 1)
            ],
        )  # fmt: skip
    statuses = 0
    batch: list[dict[str, Any]] = []
    for agent_id in range(1, agents + 1):
        rows = history(agent_id, days, per_day, rng)
        statuses += sum(1 for r in rows if r["kind"] == "status")
        batch.extend(rows)
        if len(batch) >= CHUNK * 5:
            await _insert(store, batch)
            batch = []
    if batch:
        await _insert(store, batch)
    return statuses


async def _insert(store: SqlStore, rows: list[dict[str, Any]]) -> None:
    """The rows and their daily sums; `rows` hold whole agents' histories, so no two
    calls sum into the same key."""
    async with store.engine.begin() as conn:
        for i in range(0, len(rows), CHUNK):
            await insert_rows(conn, t.agent_activity, rows[i : i + CHUNK])
        marks = ", ".join(placeholders(conn.dialect.name, len(DAY_COLUMNS)))
        sql = f"INSERT INTO agent_activity_days ({', '.join(DAY_COLUMNS)}) VALUES ({marks})"
        await conn.exec_driver_sql(sql, day_sums(rows))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--changes-per-day", type=int, default=33)
    parser.add_argument("--database", default=None, help="an EMPTY database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = resolve(args.database or f"sqlite:///{Path(folder) / 'reports.db'}")
        await upgrade(db)
        store = SqlStore(db)
        started = time.perf_counter()
        statuses = await fill(store, args.agents, args.days, args.changes_per_day)
        total = (await store.fetch_one(select(func.count()).select_from(t.agent_activity)))[0]
        filled = time.perf_counter() - started
        os.sync()  # SQLite: the fill's dirty pages written back now, not by the kernel during the reports
        print(f"workload report bench, {db.dialect}: {args.agents:,} agents x {args.days} days")
        print(f"  history: {statuses:,} status changes, {total:,} activity rows (filled in {filled:.0f} s)")
        reports = {}
        for daily_sums, label in ((True, "from the daily sums"), (False, "from the rows alone")):
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                report = await workload(store, start=START, end=START + args.days * DAY, daily_sums=daily_sums)
                runs.append(time.perf_counter() - started)
            reports[daily_sums] = report
            each = ", ".join(f"{r:.2f}" for r in runs)
            print(f"  report for the whole period, {label}: {statistics.median(runs):.2f} s (median of {each})")
        assert same(reports[True], reports[False]), "the daily sums and the rows gave different totals"
        agent = reports[True][1]
        print(f"  agent 1: {dict(agent.time_in_status)}, received {agent.counts['received']}")
        await store.close()


def same(a: dict[int, Totals], b: dict[int, Totals]) -> bool:
    """Equal totals, up to the float sums' order of addition."""

    def close(x: float, y: float) -> bool:
        return abs(x - y) < 1e-3

    return a.keys() == b.keys() and all(
        a[i].counts == b[i].counts
        and close(a[i].answer_seconds, b[i].answer_seconds)
        and close(a[i].working, b[i].working)
        and close(a[i].holding, b[i].holding)
        and a[i].time_in_status.keys() == b[i].time_in_status.keys()
        and all(close(a[i].time_in_status[k], b[i].time_in_status[k]) for k in a[i].time_in_status)
        for i in a
    )


if __name__ == "__main__":
    asyncio.run(main())
