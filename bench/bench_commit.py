"""Durable commands per second against raw SQLite inserts of comparable rows (docs/performance.md).

In one run, on fresh SQLite files in WAL mode with synchronous=FULL (every
acknowledged change on disk):

- floor: the stdlib sqlite3 module inserting what one status change writes
  (two journal events, a status-log row, an activity row added into its
  day's sums, the agent's row),
  one transaction per change, as a service without group commit would;
- onduty: the real Service (engine, projection, store) applying status
  changes with `--concurrency` callers in flight, acknowledged after commit.
  Commands that arrive during a commit share the next one (group commit).

The ratio is onduty ÷ floor; rounds take turns, medians are reported.

Run: .venv/bin/python bench/bench_commit.py [--seconds 5] [--rounds 3] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from floor import logged_in_agents
from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.service.service import Service
from onduty.storage.activity import day_of
from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade
from onduty.storage.store import SqlStore

AGENTS = 200


def raw_floor(path: Path, seconds: float) -> float:
    """Raw inserts of one status change's rows per transaction; commits per second."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(
        """
        CREATE TABLE events (id INTEGER PRIMARY KEY, at REAL, name TEXT, data TEXT, scope TEXT);
        CREATE TABLE status_log (id INTEGER PRIMARY KEY, agent_id INT, team TEXT, at REAL, from_state TEXT,
            from_reason TEXT, to_state TEXT, to_reason TEXT, actor_kind TEXT, actor_id INT, actor_why TEXT);
        CREATE INDEX ix_log_at ON status_log (at);
        CREATE TABLE activity (id INTEGER PRIMARY KEY, agent_id INT, team TEXT, at REAL, kind TEXT, state TEXT,
            reason TEXT, held INT, prev_at REAL, prev_state TEXT, prev_reason TEXT, prev_held INT);
        CREATE INDEX ix_activity_at ON activity (at);
        CREATE TABLE activity_days (day INT, agent_id INT, prev_state TEXT, prev_reason TEXT, kind TEXT, n INT,
            answer_seconds REAL, span REAL, holding REAL,
            PRIMARY KEY (day, agent_id, prev_state, prev_reason, kind));
        CREATE TABLE agents (id INTEGER PRIMARY KEY, team TEXT, state TEXT, reason TEXT, since REAL, set_by TEXT);
        """
    )
    event = json.dumps({"agent_id": 1, "from_state": "active", "to_state": "not_ready", "actor": {"kind": "agent"}})
    row = json.dumps({"agent": {"id": 1, "username": "a", "status": {"state": "active", "label": "Active"}}})
    scope = json.dumps({"agents": [1], "teams": ["t"], "public": True})
    done = 0
    end = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < end:
        now = time.time()
        agent = done % AGENTS
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO events (at, name, data, scope) VALUES (?, ?, ?, ?)",
            (now, "agent.status_changed", event, scope),
        )
        db.execute("INSERT INTO events (at, name, data, scope) VALUES (?, ?, ?, ?)", (now, "agent.updated", row, scope))
        db.execute(
            "INSERT INTO status_log (agent_id, team, at, from_state, from_reason, to_state, to_reason, actor_kind, "
            "actor_id, actor_why) VALUES (?, 't', ?, 'active', NULL, 'not_ready', NULL, 'agent', ?, NULL)",
            (agent, now, agent),
        )
        db.execute(
            "INSERT INTO activity (agent_id, team, at, kind, state, reason, held, prev_at, prev_state, prev_reason, "
            "prev_held) VALUES (?, 't', ?, 'status', 'not_ready', NULL, 0, ?, 'active', NULL, 0)",
            (agent, now, now - 1),
        )
        db.execute(
            "INSERT INTO activity_days VALUES (?, ?, 'active', '', 'status', 1, 0, 1, 0) "
            "ON CONFLICT (day, agent_id, prev_state, prev_reason, kind) DO UPDATE SET "
            "n = activity_days.n + excluded.n, "
            "answer_seconds = activity_days.answer_seconds + excluded.answer_seconds, "
            "span = activity_days.span + excluded.span, holding = activity_days.holding + excluded.holding",
            (day_of(now), agent),
        )
        db.execute(
            "INSERT INTO agents (id, team, state, reason, since, set_by) "
            "VALUES (?, 't', 'not_ready', NULL, ?, 'agent') "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state, since = excluded.since",
            (agent, now),
        )
        db.execute("COMMIT")
        done += 1
    db.close()
    return done / (time.perf_counter() - started)


async def onduty_rate(path: Path, seconds: float, concurrency: int) -> float:
    db = resolve(f"sqlite:///{path}")
    await upgrade(db)
    store = SqlStore(db)
    service = Service(store)
    await service.start()
    ids = await logged_in_agents(service, store, AGENTS)
    done = 0
    end = time.perf_counter() + seconds

    async def caller(k: int) -> None:
        nonlocal done
        n = k
        while time.perf_counter() < end:
            agent = ids[n % AGENTS]
            state = State.ACTIVE if (n // AGENTS) % 2 == 0 else State.NOT_READY
            await service.execute(c.SetStatus(agent, state, None, Actor.agent(agent)))
            done += 1
            n += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(concurrency)))
    rate = done / (time.perf_counter() - started)
    await service.stop()
    await store.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    floors, ours = [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.rounds):
            floors.append(raw_floor(Path(folder) / f"raw{i}.db", args.seconds))
            ours.append(asyncio.run(onduty_rate(Path(folder) / f"onduty{i}.db", args.seconds, args.concurrency)))
    floor, rate = statistics.median(floors), statistics.median(ours)
    print(f"durable status changes, SQLite WAL synchronous=FULL, {args.concurrency} callers in flight")
    print(f"  raw sqlite3, one transaction per change: {', '.join(f'{r:,.0f}' for r in floors)}/s; median {floor:,.0f}")
    print(f"  onduty service (group commit):          {', '.join(f'{r:,.0f}' for r in ours)}/s; median {rate:,.0f}")
    print(f"  ratio onduty / raw: {rate / floor:.2f}")


if __name__ == "__main__":
    main()
