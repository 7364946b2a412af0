"""The durable commit path on real databases: write plans run by SqliteCommitter (a SQLite
file) and PostgresCommitter (the test server), read back with SQL.

What a commit must guarantee: every row of a batch stored exactly once with its values,
even when SQLite needs several statements for it; rows written again updated in place;
journal ids that are the committed ones and never collide with another writer's; a
failed statement leaving nothing behind; and, on SQLite, waiting for another writer's
lock off the event loop and keeping the WAL bounded with its own checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.journal import JournalEntry, StoredEvent
from onduty.service.clock import ManualClock
from onduty.service.service import Service
from onduty.storage import _committer
from onduty.storage import _write_plan as wp
from onduty.storage._committer import SqliteCommitter
from onduty.storage._write_plan import JournalRows, Params, Statement, WritePlan, inserts, placeholders, write_plan
from onduty.storage.database import Database, resolve
from onduty.storage.projection import Rows
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.unit.write_plan_helpers import (
    AGENT_COLUMNS,
    MESSAGE_COLUMNS,
    STATUS_LOG_COLUMNS,
    THREAD_COLUMNS,
    agent,
    journal,
    messages,
    status_log,
    thread,
    values,
)

# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    """A SqlStore on a clean database of each kind (its committer: SqliteCommitter or PostgresCommitter)."""
    opened = SqlStore(database)
    yield opened
    await opened.close()


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Database:
    path = tmp_path / "onduty.db"
    shutil.copy(sqlite_template, path)
    return resolve(f"sqlite:///{path}")


def file_of(db: Database) -> str:
    path = make_url(db.async_url).database
    assert path is not None
    return path


async def read(store: SqlStore, sql: str) -> list[tuple[Any, ...]]:
    async with store.engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(sql))).all()]


async def read_events(store: SqlStore) -> list[tuple[int, str, float, Any, Any]]:
    """The events table as (id, name, at, data, scope), JSON decoded, in id order."""
    rows = await read(store, "SELECT id, name, at, data, scope FROM events ORDER BY id")
    return [(i, name, at, decoded(data), decoded(scope)) for i, name, at, data, scope in rows]


def decoded(value: Any) -> Any:
    """A JSON column's value: text from SQLite, already decoded by SQLAlchemy's asyncpg codec."""
    return json.loads(value) if isinstance(value, str) else value


def as_written(entries: Sequence[JournalEntry | StoredEvent]) -> list[tuple[str, float, Any, Any]]:
    """Journal entries as the events table gives them back (JSON round trip)."""
    return [(e.name, e.at, json.loads(json.dumps(e.data)), json.loads(json.dumps(e.scope))) for e in entries]


async def add_users(store: SqlStore, count: int) -> list[int]:
    """Users for `agents` rows to refer to (agents.id is a foreign key to users.id)."""
    users = UserStore(store)
    created = [
        await users.create(username=f"u{i}", name=f"U{i}", role="agent", team=None, password_hash=None, now=0)
        for i in range(count)
    ]
    return [user.id for user in created]


def one_change(n: int) -> WritePlan:
    """A small SQLite commit (a status_log row and its journal event), numbered `n` from 0."""
    return write_plan("sqlite", Rows(status_log=status_log(1, start=n), journal=journal(1, start=n)), [])


def sql(service: Service) -> SqlStore:
    """The service's store, as `running` made it: SQL, for reads of its own."""
    assert isinstance(service.store, SqlStore)
    return service.store


@contextlib.asynccontextmanager
async def running(db: Database) -> AsyncIterator[Service]:
    """A service over its own SqlStore, as the server and `onduty users add` each run one."""
    store = SqlStore(db)
    service = Service(store, clock=ManualClock())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await store.close()


async def enrol(service: Service, username: str) -> tuple[int, list[list[StoredEvent]]]:
    """A new user registered as an agent and logged in; their id and the commits' journals."""
    user = await UserStore(sql(service)).create(
        username=username, name=username.title(), role="agent", team="t", password_hash=None, now=0
    )
    register = c.RegisterAgent(user.id, "t", None, name=user.name, username=user.username)
    return user.id, [(await service.execute(command)).stored for command in (register, c.Login(user.id))]


async def flips(service: Service, agent_id: int, count: int) -> list[list[StoredEvent]]:
    """`count` status changes of a logged-in agent (active, not ready, active…), one by one."""
    out = []
    for k in range(count):
        state = State.ACTIVE if k % 2 == 0 else State.NOT_READY
        out.append((await service.execute(c.SetStatus(agent_id, state, None, Actor.agent(agent_id)))).stored)
    return out


# -- 1. every row once, however many statements ----------------------------------------


async def test_a_batch_larger_than_one_sqlite_statement_is_stored_once_and_whole(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SQLite's limit lowered to 40 parameters, the batch takes several statements per
    table (one per table on PostgreSQL); run by the real committer, every row is stored
    exactly once with its values, and the journal gets ids 1..20 in order."""
    monkeypatch.setattr(wp, "SQLITE_MAX_PARAMETERS", 40)
    agent_ids = await add_users(store, 5)
    agents = [agent(i) for i in agent_ids]
    rows = Rows(
        status_log=status_log(25),
        messages=messages(12),
        threads={i: thread(i, state="assigned" if i % 2 else "queued") for i in range(100, 107)},
        journal=journal(20),
    )
    plan = write_plan(store.db.dialect, rows, agents)
    per_table = Counter(statement.sql.split()[2] for statement in plan.statements)
    if store.db.is_sqlite:
        # Powers of two within 40 // columns rows per statement, largest first: agents (17 columns)
        # 2+2+1, threads (12) 2+2+2+1, messages (7) 4+4+4, status_log (10) 4 * 6 + 1.
        assert per_table == {"agents": 3, "threads": 4, "messages": 3, "status_log": 7}
    else:
        assert per_table == {"agents": 1, "threads": 1, "messages": 1, "status_log": 1}

    ids = await store.committer.commit(plan)

    assert ids == list(range(1, 21))
    assert await read(store, f"SELECT {', '.join(AGENT_COLUMNS)} FROM agents ORDER BY id") == values(
        agents, AGENT_COLUMNS
    )
    assert await read(store, f"SELECT {', '.join(THREAD_COLUMNS)} FROM threads ORDER BY id") == values(
        list(rows.threads.values()), THREAD_COLUMNS
    )
    assert await read(store, f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM messages ORDER BY id") == values(
        rows.messages, MESSAGE_COLUMNS
    )
    # status_log has no key of its own to dedupe on: a row written twice would show here.
    assert await read(store, f"SELECT {', '.join(STATUS_LOG_COLUMNS)} FROM status_log ORDER BY id") == values(
        rows.status_log, STATUS_LOG_COLUMNS
    )
    assert await read_events(store) == [(i, *e) for i, e in zip(ids, as_written(rows.journal), strict=True)]


async def test_sqlite_takes_a_statement_of_the_full_parameter_limit(sqlite_database: Database) -> None:
    """At the real SQLITE_MAX_PARAMETERS the linked SQLite accepts the largest chunk the plan
    makes (the largest power of two within both the limit and SQLITE_ROWS_PER_STATEMENT,
    times 10 columns) and stores every row."""
    most = min(wp.SQLITE_MAX_PARAMETERS // len(STATUS_LOG_COLUMNS), wp.SQLITE_ROWS_PER_STATEMENT)
    per = 1 << (most.bit_length() - 1)
    rows = Rows(status_log=status_log(2 * per + 1), journal=journal(1))
    plan = write_plan("sqlite", rows, [])
    assert [len(statement.rows[0]) for statement in plan.statements] == [per * 10, per * 10, 10]
    store = SqlStore(sqlite_database)
    try:
        assert await store.committer.commit(plan) == [1]
        assert await read(store, "SELECT count(*), count(DISTINCT at), min(at), max(at) FROM status_log") == [
            (2 * per + 1, 2 * per + 1, 0.5, 2 * per + 0.5)
        ]
    finally:
        await store.close()


def sqlite_memory_used() -> int:
    """SQLite's own count of the memory it holds, every connection of this process."""
    library = ctypes.CDLL("libsqlite3.so.0")
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return int(library.sqlite3_memory_used())


async def test_batches_of_every_size_keep_sqlites_memory_small(sqlite_database: Database) -> None:
    """The committer keeps its statements prepared, and a multi-row INSERT of many rows
    holds much memory prepared: batches of 1 to 256 status_log rows, the sizes a busy
    server's batches come in, leave SQLite holding a few statements per table, not one per
    size (with one per size it held 38 MiB more; docs/performance.md)."""
    store = SqlStore(sqlite_database)
    try:
        await store.committer.commit(write_plan("sqlite", Rows(status_log=status_log(1)), []))
        before = sqlite_memory_used()
        assert before > 0, "libsqlite3.so.0 is not the SQLite this Python runs (it counts nothing)"
        start = 0
        for count in range(1, 257):
            rows = Rows(status_log=status_log(count, start=start))
            await store.committer.commit(write_plan("sqlite", rows, []))
            start += count
        grown = sqlite_memory_used() - before
        assert await read(store, "SELECT count(*) FROM status_log") == [(1 + start,)]
    finally:
        await store.close()
    assert grown < 4 * 2**20, f"SQLite holds {grown / 2**20:.1f} MiB more after the batches"


# -- 2. rows written again --------------------------------------------------------------


async def test_an_agent_written_again_is_updated_in_place(store: SqlStore) -> None:
    """An agent's row written in three commits, each version differing from the one before in
    every column (NULLs included): one row remains, with the latest values; another agent
    written only in the first commit keeps its own."""
    first, second = await add_users(store, 2)
    await store.committer.commit(write_plan(store.db.dialect, Rows(), [agent(first), agent(second)]))
    await store.committer.commit(write_plan(store.db.dialect, Rows(), [agent(first, version=1)]))
    await store.committer.commit(write_plan(store.db.dialect, Rows(), [agent(first, version=2)]))

    assert await read(store, f"SELECT {', '.join(AGENT_COLUMNS)} FROM agents ORDER BY id") == values(
        [agent(first, version=2), agent(second)], AGENT_COLUMNS
    )


async def test_a_thread_written_again_and_then_closed_is_one_row(store: SqlStore) -> None:
    """A thread upserted twice (queued, then assigned) and then closed by an UPDATE in a later
    commit (`thread_closes`): one row, with the assigned values and the closing columns."""
    dialect = store.db.dialect
    await store.committer.commit(write_plan(dialect, Rows(threads={100: thread(100)}), []))
    await store.committer.commit(write_plan(dialect, Rows(threads={100: thread(100, state="assigned")}), []))
    closing = {"state": "closed", "closed_at": 999.5, "agent_id": 1, "assigned_at": None, "reclaim_pending": False}
    await store.committer.commit(write_plan(dialect, Rows(thread_closes={100: closing}), []))

    assert await read(store, f"SELECT {', '.join(THREAD_COLUMNS)} FROM threads") == values(
        [{**thread(100, state="assigned"), **closing}], THREAD_COLUMNS
    )


# -- 3. journal ids ---------------------------------------------------------------------


async def test_journal_ids_continue_after_existing_rows_and_are_the_stored_ones(store: SqlStore) -> None:
    """Three events already in the table (written by someone else, ids from the table's own
    default): commits then return 4..7 and 8..9 (a commit without journal rows returns and
    takes none), and the table holds exactly those ids with those events."""
    earlier = journal(3, start=100)
    async with store.writer.begin() as conn:
        for entry in earlier:
            await conn.execute(
                text("INSERT INTO events (at, name, data, scope) VALUES (:at, :name, :data, :scope)"),
                {"at": entry.at, "name": entry.name, "data": json.dumps(entry.data), "scope": json.dumps(entry.scope)},
            )
    dialect = store.db.dialect
    first = journal(4)
    second = journal(2, start=4)

    assert await store.committer.commit(write_plan(dialect, Rows(journal=first), [])) == [4, 5, 6, 7]
    assert await store.committer.commit(write_plan(dialect, Rows(status_log=status_log(1)), [])) == []
    assert await store.committer.commit(write_plan(dialect, Rows(journal=second), [])) == [8, 9]

    stored = [*earlier, *first, *second]
    assert await read_events(store) == [(i, *e) for i, e in enumerate(as_written(stored), start=1)]


async def test_a_second_service_on_the_database_draws_the_next_ids(database: Database) -> None:
    """A running service, then a short-lived second one on the same database (what `onduty
    users add` does beside a running server) that registers an agent: the running
    service's next commit takes the ids after the other's, and every acknowledged event is
    in the table under the id it was acknowledged with."""
    async with running(database) as server:
        mine, commits = await enrol(server, "mine")
        async with running(database) as other:
            _, theirs = await enrol(other, "theirs")
        commits += theirs
        commits += await flips(server, mine, 2)

    ids = [e.id for commit in commits for e in commit]
    assert ids == list(range(1, len(ids) + 1))  # one writer at a time: consecutive, nothing reused
    store = SqlStore(database)
    try:
        assert await read_events(store) == [
            (e.id, *as_written([e])[0]) for e in sorted((e for commit in commits for e in commit), key=lambda e: e.id)
        ]
    finally:
        await store.close()


def _another_process(db: Database, count: int) -> list[list[StoredEvent]]:
    """A second writer with its own event loop (a thread here, a process in production)."""

    async def work() -> list[list[StoredEvent]]:
        async with running(db) as service:
            agent_id, commits = await enrol(service, "elsewhere")
            return commits + await flips(service, agent_id, count)

    return asyncio.run(work())


async def test_two_services_writing_at_once_never_collide(database: Database) -> None:
    """Two services on one database committing at the same time, each from its own event loop
    (the other one in a thread): no id is given twice, each commit's ids increase (and on
    SQLite, where the write lock orders the writers, are consecutive), and the table holds
    every acknowledged event under its id."""
    async with running(database) as server:
        agent_id, commits = await enrol(server, "here")
        mine, theirs = await asyncio.gather(
            flips(server, agent_id, 30), asyncio.to_thread(_another_process, database, 30)
        )
    commits += mine + theirs

    events = [e for commit in commits for e in commit]
    assert len(events) == len({e.id for e in events}) >= 64
    for commit in commits:
        ids = [e.id for e in commit]
        assert ids == sorted(ids)
        if database.is_sqlite:
            assert ids == list(range(ids[0], ids[0] + len(ids)))
    store = SqlStore(database)
    try:
        assert await read_events(store) == [(e.id, *as_written([e])[0]) for e in sorted(events, key=lambda e: e.id)]
    finally:
        await store.close()


# -- 4. waiting for another writer's lock (SQLite) --------------------------------------


async def test_a_command_waits_for_another_writers_lock_while_the_loop_runs_on(sqlite_database: Database) -> None:
    """Another connection holds the write lock (BEGIN IMMEDIATE, with an event of its own
    inserted) for 300 ms. A SetStatus sent meanwhile is acknowledged only after the lock is
    released, with journal ids after the other writer's event; all the while the event loop
    kept running: a task ticking every 10 ms ticked on, and the release itself was a loop
    callback."""
    async with running(sqlite_database) as service:
        agent_id, _ = await enrol(service, "waiting")
        loop = asyncio.get_running_loop()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        holder = sqlite3.connect(file_of(sqlite_database), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO events (at, name, data, scope) VALUES (1.0, 'other.writer', '{}', '{}')")
            (others,) = holder.execute("SELECT max(id) FROM events").fetchone()
            released: dict[str, float] = {}

            def release() -> None:
                released.update(ticks=ticks, at=time.perf_counter())
                holder.execute("COMMIT")

            ticker = asyncio.create_task(tick())
            ticks_before = ticks
            loop.call_later(0.3, release)
            outcome = await service.execute(c.SetStatus(agent_id, State.ACTIVE, None, Actor.agent(agent_id)))
            acknowledged = time.perf_counter()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        finally:
            holder.close()

        assert released, "acknowledged while the other writer still held the lock"
        assert acknowledged >= released["at"]
        # ~30 ticks in 300 ms if the loop never stopped; a loop blocked in the wait would have none.
        assert released["ticks"] - ticks_before >= 10
        assert outcome.stored
        assert min(e.id for e in outcome.stored) == others + 1
        assert service.workspace.agents[agent_id].state is State.ACTIVE
        log = await read(sql(service), f"SELECT to_state FROM status_log WHERE agent_id = {agent_id} ORDER BY id")
        assert log[-1] == ("active",)


@pytest.mark.parametrize("freed", [False, True], ids=["its-wait-times-out", "the-lock-is-freed-meanwhile"])
async def test_a_commit_cancelled_while_waiting_for_the_lock_leaves_the_committer_usable(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, freed: bool
) -> None:
    """Cancelled while it waits for another writer's lock (Service.stop() cancels the writer
    task this way), a commit must leave no transaction behind: once the lock is free, the
    next commit works and other writers can take the lock. The cancelled commit still waits
    for its thread, whose wait ends either way: it times out, or the lock is freed and taken."""
    # The thread's wait cannot be interrupted, so the cancelled commit waits out the busy
    # timeout: a short one here, still far longer than the few steps before the cancel.
    monkeypatch.setattr(_committer, "BUSY_TIMEOUT_MS", 3_000)
    committer = SqliteCommitter(sqlite_database)
    holder = sqlite3.connect(file_of(sqlite_database), isolation_level=None, timeout=0.5)
    try:
        assert await committer.commit(one_change(0)) == [1]
        holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(committer.commit(one_change(1)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        waiting.cancel()
        if freed:
            asyncio.get_running_loop().call_later(0.2, holder.execute, "ROLLBACK")
        with pytest.raises(asyncio.CancelledError):
            await waiting
        if not freed:
            holder.execute("ROLLBACK")
        assert committer._conn is not None and not committer._conn.in_transaction
        await asyncio.sleep(0.3)  # the lock has been free for a while: any wait for it is over

        ids = await committer.commit(one_change(2))
        (latest,) = holder.execute("SELECT max(id) FROM events").fetchone()
        assert ids == [latest]
        holder.execute("BEGIN IMMEDIATE")  # nobody holds the write lock
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        with contextlib.suppress(sqlite3.OperationalError):
            await committer.close()
        if committer._conn is not None:  # close() failed half way: do not leak the connection
            committer._conn.close()


# -- 5. checkpoints (SQLite) ------------------------------------------------------------

COMMITS = 300
EVERY = 25


async def wal_after(db: Database, *, checkpoint_every: int, pause: float) -> int:
    """The -wal file's size after COMMITS small commits by a committer of its own, pausing
    `pause` seconds after every EVERY-th (the commit that starts a checkpoint)."""
    committer = SqliteCommitter(db, checkpoint_every=checkpoint_every)
    try:
        for n in range(COMMITS):
            assert await committer.commit(one_change(n)) == [n + 1]
            if pause and (n + 1) % EVERY == 0:
                await asyncio.sleep(pause)
        return os.path.getsize(file_of(db) + "-wal")
    finally:
        await committer.close()


def assert_all_there(db: Database) -> None:
    """Reopened after the committer closed: every commit's rows, and a sound file."""
    with contextlib.closing(sqlite3.connect(file_of(db))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*), min(id), max(id) FROM events").fetchone() == (COMMITS, 1, COMMITS)
        assert [at for (at,) in conn.execute("SELECT at FROM status_log ORDER BY id")] == [
            n + 0.5 for n in range(COMMITS)
        ]


def copy_of(db: Database, name: str) -> Database:
    path = Path(file_of(db)).with_name(name)
    shutil.copy(file_of(db), path)
    return resolve(f"sqlite:///{path}")


async def test_checkpoints_keep_the_wal_bounded_when_the_writer_pauses(sqlite_database: Database) -> None:
    """300 commits in bursts of 25, with checkpoint_every=25 and a 50 ms pause after each burst
    (the checkpoint, on its own thread, finishes in it; the next commit then restarts the
    WAL from its beginning): the WAL holds about one burst, where without checkpoints it
    holds all 300 commits. The bound, a quarter, leaves room for a few slow checkpoints.
    Reopened afterwards, every commit is there."""
    unchecked = copy_of(sqlite_database, "unchecked.db")
    with_checkpoints = await wal_after(sqlite_database, checkpoint_every=EVERY, pause=0.05)
    without = await wal_after(unchecked, checkpoint_every=10**9, pause=0)
    assert with_checkpoints <= without / 4, (with_checkpoints, without)
    assert_all_there(sqlite_database)
    assert_all_there(unchecked)


async def test_checkpoints_keep_the_wal_bounded_under_back_to_back_commits(sqlite_database: Database) -> None:
    """A writer that never pauses (a saturated service commits batch after batch): the WAL
    stays bounded as it does with pauses."""
    unchecked = copy_of(sqlite_database, "unchecked.db")
    with_checkpoints = await wal_after(sqlite_database, checkpoint_every=EVERY, pause=0)
    without = await wal_after(unchecked, checkpoint_every=10**9, pause=0)
    assert_all_there(sqlite_database)
    assert with_checkpoints <= without / 4, (with_checkpoints, without)


# -- 6. a failed statement --------------------------------------------------------------


def failing_plan(dialect: str, failure: str) -> WritePlan:
    """Three good status_log rows and two journal rows, with one failure: a statement on a
    missing table, a statement with a NOT NULL violation in its second row (after a good
    one), or a journal row that violates NOT NULL (after the journal's ids were drawn)."""
    good_rows: list[Params] = list(values(status_log(3), STATUS_LOG_COLUMNS))
    good = inserts(dialect, "status_log", STATUS_LOG_COLUMNS, good_rows)
    events = [(900.0, "test.kept_out", "{}", "{}"), (901.0, "test.kept_out", "{}", "{}")]
    bad: list[Statement] = []
    if failure == "missing_table":
        bad = [Statement(f"INSERT INTO no_such_table (x) VALUES ({placeholders(dialect, 1)[0]})", [(1,)])]
    elif failure == "not_null":
        rows = status_log(2, start=3)
        rows[1]["team"] = None
        bad_rows: list[Params] = list(values(rows, STATUS_LOG_COLUMNS))
        bad = inserts(dialect, "status_log", STATUS_LOG_COLUMNS, bad_rows)
    else:
        events.append((902.0, cast(str, None), "{}", "{}"))
    return WritePlan([*good, *bad], JournalRows(events))


@pytest.mark.parametrize("failure", ["missing_table", "not_null", "journal"])
async def test_a_failed_statement_rolls_the_whole_plan_back(store: SqlStore, failure: str) -> None:
    """The plan's error reaches the caller; none of its rows are stored (neither the statements
    before the failing one nor the journal); on SQLite the write lock is free at once; and
    the committer's next commit works, with ids that are the stored ones."""
    with pytest.raises((sqlite3.Error, asyncpg.PostgresError)):
        await store.committer.commit(failing_plan(store.db.dialect, failure))

    assert await read(store, "SELECT count(*) FROM status_log") == [(0,)]
    assert await read(store, "SELECT count(*) FROM events") == [(0,)]
    if store.db.is_sqlite:
        with contextlib.closing(sqlite3.connect(file_of(store.db), isolation_level=None, timeout=0)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")

    rows = Rows(status_log=status_log(2, start=10), journal=journal(2))
    ids = await store.committer.commit(write_plan(store.db.dialect, rows, []))
    assert await read(store, f"SELECT {', '.join(STATUS_LOG_COLUMNS)} FROM status_log ORDER BY id") == values(
        rows.status_log, STATUS_LOG_COLUMNS
    )
    assert await read_events(store) == [(i, *e) for i, e in zip(ids, as_written(rows.journal), strict=True)]
    if store.db.is_sqlite or failure != "journal":
        assert ids == [1, 2]  # PostgreSQL's sequence does not roll back: ids drawn for the failed journal are skipped


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_postgres_commits_go_on_after_the_server_drops_the_connections(store: SqlStore) -> None:
    """The PostgreSQL committer has a connection of its own (no pool to replace it): when the
    server ends it (a restart, an administrator), the next commit opens another."""
    first = await store.committer.commit(write_plan(store.db.dialect, Rows(journal=journal(1)), []))
    url = make_url(store.db.async_url)
    admin = await asyncpg.connect(**url.translate_connect_args(username="user"))
    try:
        ended = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended and all(row[0] for row in ended)
    await asyncio.sleep(0.2)  # the client sees its connection end

    rows = Rows(status_log=status_log(1, start=1), journal=journal(1))
    second = await store.committer.commit(write_plan(store.db.dialect, rows, []))
    assert second == [first[0] + 1]
    assert await read(store, "SELECT count(*) FROM status_log") == [(1,)]


# -- reads that span several queries ---------------------------------------------------


async def test_snapshot_reads_see_one_moment_while_commits_land(store: SqlStore) -> None:
    """A report made of several queries (P2) reads through `snapshot_reads`: a commit that
    lands between two of its queries is not seen by the second; a read after it sees it."""
    first, second = await add_users(store, 2)
    await store.committer.commit(write_plan(store.db.dialect, Rows(), [agent(first)]))
    count = "SELECT COUNT(*) FROM agents"
    async with store.snapshot_reads() as conn:
        before = (await conn.execute(text(count))).scalar()
        await store.committer.commit(write_plan(store.db.dialect, Rows(), [agent(second)]))
        during = (await conn.execute(text(count))).scalar()
    assert (before, during) == (1, 1)
    assert await read(store, count) == [(2,)]
