"""Running a write plan as one transaction: the service's durable commit.

SQLite: the service's own stdlib `sqlite3` connection runs the transaction
(BEGIN IMMEDIATE, the plan's statements, COMMIT with its fsync) right on the
event loop's thread. Through aiosqlite every statement was a hop to a worker
thread and back, and any work on another thread pays for the GIL: a thread
that gave it up (around each SQLite step, around the fsync) waits for the busy
loop to yield it, up to the interpreter's 5 ms switch interval, so a
transaction of 1 ms took 6-9 ms. Checkpoints, the slow part of WAL upkeep,
run on a thread of their own, where such waits delay nobody.

PostgreSQL: the same plan through the pooled asyncpg connection, one
`executemany` (a prepared statement) per statement.

Either way the journal's ids are drawn inside the transaction, so the
returned ids are the committed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from onduty.storage.database import BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, Database
from onduty.storage.write_plan import WritePlan, journal_inserts


class Committer(Protocol):
    async def commit(self, plan: WritePlan) -> list[int]:
        """Runs the plan in one transaction; returns the journal rows' ids, in order."""
        ...

    async def close(self) -> None: ...


class SqliteCommitter:
    def __init__(self, db: Database, *, checkpoint_every: int = 100) -> None:
        path = make_url(db.async_url).database
        assert path is not None  # resolve() refuses a SQLite URL without a file
        self._path = path
        self._conn: sqlite3.Connection | None = None
        # For what must not hold up the loop: checkpoints, and waiting for another's lock.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onduty-sqlite")
        self._checkpoint_every = checkpoint_every
        self._commits = 0
        self._checkpoint: Future[None] | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = _connect(self._path)
            # Never wait for the write lock on the loop's thread (see _begin), and leave
            # checkpoints to _checkpoint_later: SQLite would run them in COMMIT.
            self._conn.execute("PRAGMA busy_timeout=0")
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
        return self._conn

    async def commit(self, plan: WritePlan) -> list[int]:
        conn = self._connection()
        await self._begin(conn)
        try:
            ids = self._write(conn, plan)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._commits += 1
        if self._commits % self._checkpoint_every == 0:
            self._checkpoint_later()
        return ids

    async def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE: the write lock, now. Held by another writer (the users' writes, or
        another process), it is waited for on the thread, never on the loop's."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            await asyncio.get_running_loop().run_in_executor(self._thread, self._begin_waiting, conn)

    @staticmethod
    def _begin_waiting(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute("PRAGMA busy_timeout=0")

    @staticmethod
    def _write(conn: sqlite3.Connection, plan: WritePlan) -> list[int]:
        for statement in plan.statements:
            conn.executemany(statement.sql, statement.rows)
        if not plan.journal.rows:
            return []
        # Under the write lock since BEGIN: the latest id stays the latest until COMMIT.
        (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        ids = list(range(last + 1, last + 1 + len(plan.journal.rows)))
        for statement in journal_inserts("sqlite", ids, plan.journal):
            conn.executemany(statement.sql, statement.rows)
        return ids

    def _checkpoint_later(self) -> None:
        """Copy the WAL's pages into the database file, beside the loop. PASSIVE: it waits for
        no one, and writers go on meanwhile; the WAL restarts from its beginning once a
        checkpoint has caught up with it."""
        if self._checkpoint is None or self._checkpoint.done():
            self._checkpoint = self._thread.submit(self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        with contextlib.closing(_connect(self._path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._conn is not None:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._conn.close()
            self._conn = None


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; the committer says BEGIN and COMMIT.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


class PostgresCommitter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def commit(self, plan: WritePlan) -> list[int]:
        async with self._engine.begin() as conn:
            for statement in plan.statements:
                await conn.exec_driver_sql(statement.sql, statement.rows)
            if not plan.journal.rows:
                return []
            drawn = await conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)",
                (len(plan.journal.rows),),
            )
            ids = sorted(row[0] for row in drawn)
            for statement in journal_inserts("postgresql", ids, plan.journal):
                await conn.exec_driver_sql(statement.sql, statement.rows)
            return ids

    async def close(self) -> None:
        """The engine is the store's; it closes it."""
