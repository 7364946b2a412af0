"""Restart recovery with a large open state: 500,000 open threads.

Fills a fresh database straight into the tables the service writes: 15,000
agents (80 % active) and 500,000 OPEN threads, 90 % held (~85 % of those
answered, in_progress; the rest assigned, not answered yet) and 10 % queued,
each with 1-3 messages, 5 % of held threads with a pinned message; plus
history a restart must skip: 300,000 closed threads with their messages, their
clients' owners (R4), and 1,000,000 journal events. Ids follow arrival, as the
service gives them. Then starts a real `onduty serve` on it, three times, and
measures:

- time to healthy: from process start to the first 200 of /healthz;
- the service's own start-up (its "service started … seconds=…" log line):
  the snapshot read, the engine rebuilt, the first tick;
- the CPU seconds the server used up to healthy (the machine is shared: wall
  times move with its load, CPU seconds much less);
- the server's resident memory once healthy (VmRSS; VmHWM is the peak).

Floors, in the same run: the same `onduty serve` on an empty SQLite database
(what the interpreter, the imports and the web stack cost), a bare Python with
the same imports, the time to just SELECT the rows a restart needs with the
same driver (aiosqlite, asyncpg), and the memory of a bare Python holding
those rows as the driver gives them.

The state is steady, so a restart changes nothing: every agent in a state
that takes threads holds exactly their capacity (per-agent capacities), so
the queue stays queued (R6); only active and active_own_clients agents hold
unanswered threads (R5), given within the last 10 minutes, and
response_timeout is 30 minutes, so no S6 deadline falls during the bench. The
bench checks that no start wrote an event.

Run: .venv/bin/python bench/bench_restart.py [--agents 15000] [--threads 500000]
         [--closed 300000] [--events 1000000] [--runs 3]
         [--database postgresql://postgres@127.0.0.1:5432/bench_restart]   (an EMPTY database)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bulk import insert_rows
from onduty.domain.settings import Settings
from onduty.storage import schema as t
from onduty.storage.database import Database, resolve
from onduty.storage.migrate import upgrade
from onduty.storage.store import SqlStore
from onduty.usernames import skeleton

CHUNK = 50_000
TEAMS = 50
RESPONSE_TIMEOUT = 1800.0
# Share of agents per state; offline and inactive agents hold nothing.
STATES = (
    ("active", 0.80),
    ("active_own_clients", 0.05),
    ("not_ready", 0.05),
    ("finishing", 0.03),
    ("inactive", 0.02),
    ("offline", 0.05),
)
HOLDING = ("active", "active_own_clients", "not_ready", "finishing")
TAKING = ("active", "active_own_clients")
WORDS = ("hello", "order", "parcel", "refund", "invoice", "late", "thanks", "please", "account", "address")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- the state ----------------------------------------------------------------------------


def _texts(rng: random.Random, n: int = 1000) -> list[str]:
    """Message texts to draw from: 4-16 words each (drawing each message's words took a
    third of the fill's time)."""
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16))) for _ in range(n)]


def plan_agents(n: int, now: float, rng: random.Random) -> list[dict[str, Any]]:
    states: list[str] = []
    for state, share in STATES:
        states += [state] * round(n * share)
    states = (states + ["active"] * n)[:n]
    rng.shuffle(states)
    rows = []
    for i, state in enumerate(states, start=1):
        since = now - rng.uniform(60, 4 * 3600)
        working = state in ("active", "active_own_clients", "finishing")
        rows.append(
            {"id": i, "team": f"team-{i % TEAMS}", "capacity": None, "name": f"Agent {i}", "state": state,
             "reason": "lunch" if state in ("finishing", "inactive") else None, "since": since,
             "set_by_kind": "agent", "set_by_id": i, "set_by_why": None,
             "before_logout_state": "active" if state == "offline" else None, "before_logout_reason": None,
             "ever_logged_in": True, "last_assigned_at": now - rng.uniform(0, 600), "idle_since": since,
             "working_since": since if working else None, "prompt_deadline": None}
        )  # fmt: skip
    return rows


def plan_threads(
    agents: list[dict[str, Any]], open_threads: int, closed: int, now: float, rng: random.Random
) -> list[tuple[Any, ...]]:
    """Threads as tuples in table order, ids in order of arrival (as the service gives
    them), one open thread per client. Sets each agent's capacity."""
    holders = [a for a in agents if a["state"] in HOLDING]
    held_total = round(open_threads * 0.9)
    per, extra = divmod(held_total, len(holders))
    rows: list[list[Any]] = []  # without ids yet
    for _ in range(closed):  # the history: a week, interleaved with the open threads
        created = now - rng.uniform(0, 7 * 86400)
        rows.append([created, 0, "closed", rng.choice(agents)["id"], None, False, True, created + 600])
    for index, agent in enumerate(holders):
        held = per + (1 if index < extra else 0)
        if agent["state"] in TAKING:
            agent["capacity"] = held  # full: nobody is eligible, the queue stays queued (R6)
        for _ in range(held):
            if agent["state"] in TAKING and rng.random() < 0.15:  # given, not answered yet (S6 runs)
                created = now - rng.uniform(0, 600)
                rows.append([created, 0, "assigned", agent["id"], created + rng.uniform(0, now - created), False,
                             False, None])  # fmt: skip
            else:
                created = now - rng.uniform(600, 8 * 3600)
                rows.append([created, 0, "in_progress", agent["id"], created + rng.uniform(0, 300), False, True,
                             None])  # fmt: skip
    for _ in range(open_threads - held_total):
        created = now - rng.uniform(0, 3600)
        rows.append([created, 1 if rng.random() < 0.05 else 0, "queued", None, None, False, False, None])
    for agent in agents:
        if agent["capacity"] is None:
            agent["capacity"] = rng.randint(20, 45)
    rows.sort(key=lambda r: r[0])
    return [
        (i, f"client-{i}", created, priority, state, agent_id, assigned_at, None, None, reclaim, answered, closed_at)
        for i, (created, priority, state, agent_id, assigned_at, reclaim, answered, closed_at) in enumerate(
            rows, start=1
        )
    ]


THREAD_COLUMNS = (
    "id", "client_id", "created_at", "priority", "state", "agent_id", "assigned_at", "reserved_for",
    "reserve_deadline", "reclaim_pending", "answered_once", "closed_at",
)  # fmt: skip


async def fill(store: SqlStore, agents: int, open_threads: int, closed: int, events: int, now: float) -> dict[str, int]:
    rng = random.Random(6)
    agent_rows = plan_agents(agents, now, rng)
    threads = plan_threads(agent_rows, open_threads, closed, now, rng)
    async with store.engine.begin() as conn:
        await conn.execute(t.teams.insert(), [{"name": f"team-{i}", "created_at": now} for i in range(TEAMS)])
        await conn.execute(
            t.users.insert(),
            [
                {"id": a["id"], "username": f"agent{a['id']}", "username_skeleton": skeleton(f"agent{a['id']}"),
                 "name": a["name"], "role": "agent",
                 "team": a["team"], "password_hash": None, "active": True, "created_at": now - 86400}
                for a in agent_rows
            ],
        )  # fmt: skip
        await conn.execute(t.agents.insert(), agent_rows)
        await conn.execute(t.settings.insert(), [{"name": "response_timeout", "value": RESPONSE_TIMEOUT}])
        await conn.execute(
            t.agent_activity.insert(),
            [
                {"agent_id": a["id"], "team": a["team"], "at": a["since"], "kind": "status", "state": a["state"],
                 "reason": a["reason"], "held": 0, "thread_id": None, "seconds": None, "prev_at": None,
                 "prev_state": None, "prev_reason": None, "prev_held": None}
                for a in agent_rows
            ],
        )  # fmt: skip
    counts = {"messages": 0, "pins": 0, "owners": 0}
    texts = _texts(rng)
    message_id = 1
    for start in range(0, len(threads), CHUNK):
        chunk = threads[start : start + CHUNK]
        messages: list[dict[str, Any]] = []
        owners: list[dict[str, Any]] = []
        thread_rows: list[dict[str, Any]] = []
        for row in chunk:
            thread_id, client, created, state, agent_id = row[0], row[1], row[2], row[4], row[5]
            n = 2 if state == "closed" else rng.randint(1, 3)
            pin = state in ("assigned", "in_progress") and rng.random() < 0.05
            # An open thread's row lists its pins, as the projection writes it.
            thread_rows.append(
                dict(zip(THREAD_COLUMNS, row, strict=True)) | {"pinned_ids": str(message_id) if pin else ""}
            )
            for k in range(n):
                by_agent = k % 2 == 1
                messages.append(
                    {"id": message_id, "thread_id": thread_id, "author": "agent" if by_agent else "client",
                     "agent_id": agent_id if by_agent else None, "text": rng.choice(texts), "at": created + 30 * k,
                     "pinned": pin and k == 0}
                )  # fmt: skip
                message_id += 1
            counts["pins"] += pin
            if state == "closed":
                since = now - rng.uniform(0, 2 * 86400)
                owners.append({"client_id": client, "owner_agent_id": agent_id, "owned_since": since})
        async with store.engine.begin() as conn:
            await insert_rows(conn, t.threads, thread_rows)
            await insert_rows(conn, t.messages, messages)
            if owners:
                await insert_rows(conn, t.clients, owners)
        counts["messages"] += len(messages)
        counts["owners"] += len(owners)
    await _journal(store, events, now, rng)
    return counts


async def _journal(store: SqlStore, n: int, now: float, rng: random.Random) -> None:
    """A journal's worth of history: status changes and thread events, oldest first."""
    names = ("status.changed", "thread.assigned", "thread.answered", "thread.closed", "agent.updated")
    for start in range(0, n, CHUNK):
        rows = []
        for i in range(start, min(n, start + CHUNK)):
            agent = rng.randint(1, 15_000)
            rows.append(
                {"at": now - 1 - (n - i) * 0.05, "name": names[i % len(names)],
                 "data": {"agent_id": agent, "thread_id": rng.randint(1, 800_000), "state": "active"},
                 "scope": {"agents": [agent], "teams": [f"team-{agent % TEAMS}"], "public": i % 5 == 0}}
            )  # fmt: skip
        async with store.engine.begin() as conn:
            await insert_rows(conn, t.events, rows)


# -- the measurements -------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in bytes, and the CPU seconds it used so far."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    out["cpu"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return out


def serve_once(database: str, workdir: Path) -> dict[str, float]:
    """Start `onduty serve`, wait until healthy, measure, stop it."""
    port = free_port()
    log_path = workdir / "serve.log"
    log_path.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "onduty", "serve", "--port", str(port), "--database", database, "--log-json"],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(timeout=5) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                if process.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit(f"server did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.02)
        healthy = time.perf_counter() - started
        memory = proc_status(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    service_seconds, open_threads = float("nan"), -1
    for line in log_path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("event") == "service started":
                service_seconds = float(entry["seconds"])
                open_threads = entry["open_threads"]
    return {"healthy": healthy, "service": service_seconds, "rss": memory["VmRSS"], "hwm": memory["VmHWM"],
                    "cpu": memory["cpu"], "open_threads": open_threads}  # fmt: skip


# The rows a restart needs (agents, open threads with their pins, the client
# owners of the affinity window), as the service asks for them.
OPEN_STATES = ("queued", "assigned", "in_progress")


def restart_rows(now: float) -> tuple[str, ...]:
    since = now - Settings().client_affinity_timeout  # the bench keeps the default window
    return (
        "SELECT * FROM agents",
        *(
            "SELECT id, client_id, created_at, priority, agent_id, assigned_at, reserved_for, reserve_deadline,"
            f" reclaim_pending, answered_once, pinned_ids FROM threads WHERE state = '{state}'"
            for state in OPEN_STATES  # one read a state, as the service reads them
        ),
        "SELECT client_id, owner_agent_id, owned_since FROM clients"
        f" WHERE owned_since >= {since!r} ORDER BY owned_since",
    )


# A bare Python with the server's imports; given queries, it also fetches their rows with the bare
# driver (the cyclic GC off, as the service has it while it reads) and holds them as the driver gives them.
BARE = """
import asyncio, gc, sys, time
from pathlib import Path
import onduty.cli.main, onduty.web.app, onduty.storage.migrate, uvicorn, sqlalchemy.ext.asyncio, aiosqlite, asyncpg

async def rows(url, queries):
    if url.startswith("postgresql"):
        conn = await asyncpg.connect(url)
        try:
            return [await conn.fetch(q) for q in queries]
        finally:
            await conn.close()
    async with aiosqlite.connect(url.split("///", 1)[1]) as conn:
        return [await conn.execute_fetchall(q) for q in queries]

gc.disable()
started = time.perf_counter()
kept = asyncio.run(rows(sys.argv[1], sys.argv[2:])) if len(sys.argv) > 2 else []
seconds = time.perf_counter() - started
rss = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS")).split()[1]
print(seconds, int(rss) * 1024, sum(len(r) for r in kept))
"""


def bare(url: str, *queries: str) -> tuple[float, int, int]:
    """(seconds to fetch the rows, resident bytes, rows) of a bare Python process."""
    out = subprocess.run([sys.executable, "-c", BARE, url, *queries], capture_output=True, text=True, check=True)
    seconds, rss, rows = out.stdout.split()
    return float(seconds), int(rss), int(rows)


async def count(store: SqlStore, query: Any) -> int:
    return int((await store.fetch_one(query))[0])


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=15_000)
    parser.add_argument("--threads", type=int, default=500_000, help="open threads")
    parser.add_argument("--closed", type=int, default=300_000, help="closed threads in the history")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the journal")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None, help="an EMPTY database (default: a fresh SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        url = args.database or f"sqlite:///{workdir / 'restart.db'}"
        db = resolve(url)
        asyncio.run(upgrade(db))
        started = time.perf_counter()
        counts, open_n, events_before = asyncio.run(prepare(db, args))
        filled = time.perf_counter() - started
        os.sync()  # SQLite: the fill's dirty pages written back now, not by the kernel during the first start
        kind = "SQLite" if db.is_sqlite else "PostgreSQL"
        print(f"restart bench, {kind}, {os.cpu_count()} cores: {args.agents:,} agents, {open_n:,} open threads")
        print(f"  history: {args.closed:,} closed threads, {events_before:,} events; {counts['messages']:,} messages,")
        print(f"  {counts['pins']:,} pins, {counts['owners']:,} client owners; filled in {filled:.0f} s")

        runs = [serve_once(url, workdir) for _ in range(args.runs)]
        events_after = asyncio.run(_events(db))
        assert all(r["open_threads"] == open_n for r in runs), runs
        driver_url = url if db.is_sqlite else db.async_url.replace("postgresql+asyncpg", "postgresql")
        selects = [bare(driver_url, *restart_rows(time.time())) for _ in range(args.runs)]
        empty_url = f"sqlite:///{workdir / 'empty.db'}"
        asyncio.run(upgrade(resolve(empty_url)))
        empty = [serve_once(empty_url, workdir) for _ in range(args.runs)]
        imports_only = bare(driver_url)
    report(runs, events_after - events_before, empty, imports_only, selects)


async def prepare(db: Database, args: argparse.Namespace) -> tuple[dict[str, int], int, int]:
    store = SqlStore(db)
    try:
        counts = await fill(store, args.agents, args.threads, args.closed, args.events, time.time())
        open_n = await count(store, select(func.count()).where(t.threads.c.state != "closed"))
        events = await count(store, select(func.count()).select_from(t.events))
    finally:
        await store.close()
    return counts, open_n, events


def report(
    runs: list[dict[str, float]],
    written: int,
    empty: list[dict[str, float]],
    imports_only: tuple[float, int, int],
    selects: list[tuple[float, int, int]],
) -> None:
    def med(key: str, rs: list[dict[str, float]]) -> float:
        return statistics.median(r[key] for r in rs)

    def secs(v: float) -> str:
        return f"{v:.2f}"

    def each(key: str, show: Any) -> str:
        return ", ".join(show(r[key]) for r in runs)

    print(f"  `onduty serve` with this state, median of {len(runs)} (each run):")
    print(f"    service start-up (its log): {med('service', runs):.2f} s  ({each('service', secs)})")
    print(f"    process start to healthy:   {med('healthy', runs):.2f} s  ({each('healthy', secs)})")
    print(f"    CPU used up to healthy:     {med('cpu', runs):.2f} s  ({each('cpu', secs)})")
    print(f"    resident once healthy:      {mib(med('rss', runs))}  ({each('rss', mib)}); "
          f"peak {mib(med('hwm', runs))}")  # fmt: skip
    print(f"    events written by the starts: {written} (0 expected: a steady state)")
    print("  floors, same run:")
    print(f"    `onduty serve`, empty SQLite database: healthy in {med('healthy', empty):.2f} s, "
          f"CPU {med('cpu', empty):.2f} s, {mib(med('rss', empty))} resident")  # fmt: skip
    print(f"    a bare Python with the same imports: {mib(imports_only[1])} resident")
    print(f"    SELECT the rows a restart needs ({selects[0][2]:,}), bare driver: "
          f"{statistics.median(s[0] for s in selects):.2f} s; holding them as the driver gives them: "
          f"{mib(statistics.median(s[1] for s in selects))} resident")  # fmt: skip


async def _events(db: Database) -> int:
    store = SqlStore(db)
    try:
        return await count(store, select(func.count()).select_from(t.events))
    finally:
        await store.close()


if __name__ == "__main__":
    main()
