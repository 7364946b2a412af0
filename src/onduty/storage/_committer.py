"""Running a write plan as one transaction: the service's durable commit.

SQLite: the service's own stdlib `sqlite3` connection. BEGIN IMMEDIATE and
the plan's statements run right on the event loop's thread: they are CPU work
that needs the GIL wherever it runs, and on another thread every statement
gave the GIL up around its SQLite step and then waited for the busy loop to
yield it back (up to the interpreter's 5 ms switch interval): through
aiosqlite, a transaction of 1 ms took 6-9 ms. COMMIT, which is mostly the
fsync and needs no GIL, runs on a thread of its own, so the loop serves
requests while the disk syncs (one such wait per transaction, not one per
statement). Checkpoints, the slow part of WAL upkeep, run on another thread.

PostgreSQL: the same plan on the committer's own asyncpg connection, one
`executemany` (a prepared statement) per statement. Under several instances the
owner's committer is fenced (`fence`, lease.py): each transaction first checks
the lease's epoch, and raises `Superseded`, writing nothing, when another
instance took over.

Either way the journal's ids are drawn inside the transaction, so the
returned ids are the committed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import asyncpg
import structlog

from onduty.storage._write_plan import WritePlan, journal_inserts, log_insert
from onduty.storage.database import BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, Database, asyncpg_connect_args
from onduty.storage.lease import Fence, Superseded, fence_statement

log = structlog.get_logger("onduty.storage")

STATEMENT_CACHE = 512

# The WAL file is cut back to this size when it starts over (it stays allocated otherwise).
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class Committer(Protocol):
    async def commit(self, plan: WritePlan) -> list[int]:
        """Runs the plan in one transaction; returns the journal rows' ids, in order."""
        ...

    async def close(self) -> None: ...


class SqliteCommitter:
    def __init__(self, db: Database, *, checkpoint_every: int = 100) -> None:
        self._path = str(db.sqlite_path)
        self._conn: sqlite3.Connection | None = None
        # What must not hold up the loop: the COMMIT's fsync, waiting for another's lock.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onduty-commit")
        # Checkpoints, on their own connection: a long one must not hold up a COMMIT.
        self._checkpoints = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onduty-checkpoint")
        self._checkpoint_every = checkpoint_every
        self._commits = 0
        self._checkpoint: Future[None] | None = None
        self._busy: asyncio.Future[None] | None = None  # the commit thread's last step on the connection

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = _connect(self._path)
            # Never wait for the write lock on the loop's thread (see _begin), and leave
            # checkpoints to _upkeep: SQLite would run them in COMMIT.
            self._conn.execute("PRAGMA busy_timeout=0")
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        return self._conn

    async def commit(self, plan: WritePlan) -> list[int]:
        conn = self._connection()
        await self._settled()
        await self._begin(conn)
        try:
            ids = self._write(conn, plan)
        except BaseException:
            _rollback(conn)
            raise
        catch_up = self._checkpoint is not None and self._checkpoint.done()
        await self._on_thread(_commit, conn, catch_up)
        self._upkeep(catch_up)
        return ids

    async def _on_thread(self, work: Callable[..., None], *args: Any) -> None:
        """Run `work` on the commit thread, which then owns the connection until it is done.
        Cancelled meanwhile (the service stopping), the caller still waits for the work to
        end (a COMMIT is made or not, never in doubt for the next step), then is cancelled;
        and nothing here touches the connection before the thread is through with it."""
        running = asyncio.wrap_future(self._thread.submit(work, *args))
        self._busy = running
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await running
            raise

    async def _settled(self) -> None:
        """Until the commit thread is done with the connection (after a cancelled step)."""
        if self._busy is not None and not self._busy.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._busy)

    async def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE: the write lock, now. Held by another writer (the users' writes, or
        another process), it is waited for on the thread, never on the loop's."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # BUSY, or BUSY_RECOVERY, BUSY_SNAPSHOT…
                raise
        try:
            await self._on_thread(self._begin_waiting, conn)
        except asyncio.CancelledError:
            # The thread began (or gave up): the lock must not stay ours. Cancelled twice, the
            # thread may still be at it, so the rollback queues behind it.
            if self._busy is not None and not self._busy.done():
                self._busy = asyncio.wrap_future(self._thread.submit(_rollback, conn))
            else:
                _rollback(conn)
            raise

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
        ids: list[int] = []
        if plan.journal.rows:
            # Under the write lock since BEGIN: the latest id stays the latest until COMMIT.
            (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
            ids = list(range(last + 1, last + 1 + len(plan.journal.rows)))
            for statement in journal_inserts("sqlite", ids, plan.journal):
                conn.executemany(statement.sql, statement.rows)
        if plan.log is not None:
            statement = log_insert("sqlite", plan.log, ids[-1] if ids else None)
            conn.executemany(statement.sql, statement.rows)
        return ids

    def _upkeep(self, caught_up: bool) -> None:
        """Keep the WAL from growing: every `checkpoint_every` commits, a PASSIVE checkpoint
        on the checkpoint thread copies the WAL's pages into the database file (it waits
        for no one; commits go on meanwhile). It cannot catch up with commits made while it
        ran, and SQLite starts the WAL over only when a transaction begins with every page
        copied: so once it is done, the next COMMIT copies the few pages committed since
        (`_commit(catch_up=True)`, on the commit thread), and the transaction after writes
        from the WAL's start again. Upkeep only: the commit before it stands whatever
        happens here."""
        self._commits += 1
        try:
            if caught_up:
                done, self._checkpoint = self._checkpoint, None
                if done is not None and (error := done.exception()) is not None:
                    log.warning("WAL checkpoint failed", error=str(error))
            elif self._checkpoint is None and self._commits % self._checkpoint_every == 0:
                self._checkpoint = self._checkpoints.submit(self._run_checkpoint)
        except Exception:
            log.exception("WAL upkeep failed")

    def _run_checkpoint(self) -> None:
        with contextlib.closing(_connect(self._path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        # On the thread, after whatever it still has to do (a wait for the lock, a rollback).
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)
        self._checkpoints.shutdown(wait=False)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _rollback(conn)
            with contextlib.suppress(sqlite3.Error):  # another connection may be reading
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.close()


def _commit(conn: sqlite3.Connection, catch_up: bool = False) -> None:
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)  # a COMMIT that failed (disk full, I/O error) may leave it open
        raise
    if catch_up:  # see SqliteCommitter._upkeep
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; the committer says BEGIN and COMMIT.
    # cached_statements: a multi-row INSERT's text depends on its row count; the write plan
    # keeps to a few counts per table (powers of two, _write_plan.SQLITE_ROWS_PER_STATEMENT),
    # so they all stay prepared (a fifth less CPU inserting) in little memory. Bounded all
    # the same, least recently used out: a statement of many rows holds a lot of memory.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=STATEMENT_CACHE)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


class PostgresCommitter:
    """The service's commits on a connection of its own: asyncpg, outside SQLAlchemy's pool.
    Through SQLAlchemy's adapter each commit paid for a pool check-out with its liveness
    ping (a round trip), the adapter's cursor and greenlet hops per statement: a fifth of
    the writer's CPU (docs/performance.md). A connection that fails is dropped, and the
    next commit opens another; the commit it failed in raises (the service then answers
    503 and reloads from the database)."""

    def __init__(self, db: Database) -> None:
        self._connect_args = asyncpg_connect_args(db)
        self._conn: asyncpg.Connection | None = None
        # Set by the lease's holder under several instances; None: one instance, unfenced.
        self.fence: Fence | None = None

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(**self._connect_args)
        return self._conn

    async def commit(self, plan: WritePlan) -> list[int]:
        conn = await self._connection()
        fence = self.fence
        try:
            # The fence, when set, is sent with BEGIN as one simple query: first in the
            # transaction (see lease.fence_statement) and no round trip of its own.
            began = await conn.execute("BEGIN" if fence is None else f"BEGIN; {fence_statement(fence)}")
            if fence is not None and began != "UPDATE 1":
                raise Superseded(fence.workspace, fence.epoch)
            ids = await self._write(conn, plan, fence)
            await conn.execute("COMMIT")
            return ids
        except (asyncpg.PostgresError, Superseded):
            # A statement failed (a failed COMMIT ends the transaction itself), or the fence
            # refused: nothing of the plan is kept, and the connection is fine.
            await self._roll_back(conn)
            raise
        except BaseException:
            # Lost, or cancelled mid-way (the service stopping): whatever state the connection
            # is in, the next commit starts on a new one.
            self._drop(conn)
            raise

    @staticmethod
    async def _write(conn: asyncpg.Connection, plan: WritePlan, fence: Fence | None) -> list[int]:
        for statement in plan.statements:
            await conn.executemany(statement.sql, statement.rows)
        ids: list[int] = []
        if plan.journal.rows:
            drawn = await conn.fetch(
                "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)",
                len(plan.journal.rows),
            )
            ids = sorted(row[0] for row in drawn)
            for statement in journal_inserts("postgresql", ids, plan.journal):
                await conn.executemany(statement.sql, statement.rows)
        if plan.log is not None:  # the batch for followers, in its own transaction
            # Under the epoch the fence checked: the log shows which owner committed each batch.
            log = plan.log if fence is None else dataclasses.replace(plan.log, epoch=fence.epoch)
            statement = log_insert("postgresql", log, ids[-1] if ids else None)
            await conn.executemany(statement.sql, statement.rows)
        return ids

    async def _roll_back(self, conn: asyncpg.Connection) -> None:
        """ROLLBACK when a transaction is open; a connection that cannot even do that is
        dropped (the caller hears the error that came first)."""
        try:
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
        except Exception:
            self._drop(conn)
        except BaseException:
            self._drop(conn)
            raise

    def _drop(self, conn: asyncpg.Connection) -> None:
        self._conn = None
        conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()
