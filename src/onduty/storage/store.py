"""The store on SQLite or PostgreSQL: one transaction per batch of commands, and the reads
the API and the reports need.

The service's commits go through the committer's own connection (_committer.py:
the service is the single writer); the users' writes and the reads use SQLAlchemy
engines. The same code runs on SQLite and PostgreSQL. Under several instances
(PostgreSQL only) the owner fences its commits with its lease's epoch (`fence`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onduty.domain.model import Agent, ApprovalRequest, Thread
from onduty.domain.reasons import Reason
from onduty.domain.restore import Snapshot, gc_paused
from onduty.domain.settings import Settings
from onduty.domain.types import Actor, State, ThreadState
from onduty.journal import StoredEvent
from onduty.storage import _id_lists as id_lists
from onduty.storage import base
from onduty.storage import schema as t
from onduty.storage._committer import Committer, PostgresCommitter, SqliteCommitter
from onduty.storage._own_connection import OwnConnection
from onduty.storage._write_plan import write_plan
from onduty.storage.activity import ActivityTracker
from onduty.storage.base import LoggedRow, LogPosition
from onduty.storage.database import Database, create_engine
from onduty.storage.lease import STATEMENT_TIMEOUT, Fence, LeaseUnsupported
from onduty.storage.projection import Rows

# The widest values the id columns hold (Integer and BigId on PostgreSQL). An id from
# outside cannot name a row beyond them; asking the database would be an error, not "none".
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1
PRUNED_KEY = "command_log_pruned_through"  # meta: {"log_id"} of the last batch pruned
PRUNE_CHUNK = 5000


def fits(value: int, limit: int = MAX_INT) -> bool:
    return -limit - 1 <= value <= limit


def visible_threads(query: Select[Any], agent_ids: list[int] | None, include_queue: bool) -> Select[Any]:
    """`query` on threads narrowed to those held by `agent_ids` (anyone's when None), plus,
    with `include_queue`, the queued ones for them."""
    if agent_ids is None:
        return query
    agent_ids = [a for a in agent_ids if fits(a)]
    visible: list[ColumnElement[bool]] = [t.threads.c.agent_id.in_(agent_ids)]
    if include_queue:
        # The general queue, and threads waiting for one of these agents (R4); a thread
        # waiting for another team's agent is that team's.
        queued = t.threads.c.state == ThreadState.QUEUED.value
        waiting_for = t.threads.c.reserved_for
        visible.append(and_(queued, or_(waiting_for.is_(None), waiting_for.in_(agent_ids))))
    return query.where(or_(*visible))


_LOG_AFTER = "SELECT id, at, tick, commands, last_event_id FROM command_log WHERE id > $1 ORDER BY id LIMIT $2"


class SqlStore(base.Store):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine: AsyncEngine = create_engine(db)  # reads
        # The users' writes (sign-ins, accounts, teams); one engine with the reads on PostgreSQL.
        self.writer: AsyncEngine = create_engine(db, writes=True) if db.is_sqlite else self.engine
        # The service's commits, on a connection of their own (_write_plan.py, _committer.py).
        self.committer: Committer = SqliteCommitter(db) if db.is_sqlite else PostgresCommitter(db)
        # A follower's tail of the command log (PostgreSQL): one statement on a connection of
        # its own, 50 times a second. Through the pool it was four round trips (the pool's ping,
        # BEGIN, the SELECT, ROLLBACK) and ~0.5 ms of CPU per empty read.
        self._log_tail = None if db.is_sqlite else OwnConnection(db, STATEMENT_TIMEOUT)

    async def close(self) -> None:
        await self.committer.close()
        if self._log_tail is not None:
            await self._log_tail.close()
        await self.engine.dispose()
        if self.writer is not self.engine:
            await self.writer.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # -- the writer ---------------------------------------------------------------

    def fence(self, fence: Fence | None) -> None:
        """From the next commit on, each commit checks in its own transaction that the
        workspace's lease is still at this epoch, and raises `lease.Superseded`, writing
        nothing, when it is not. Set by the lease's holder (`Lease.fence`); None: unfenced,
        as one instance runs. PostgreSQL only (LeaseUnsupported on SQLite)."""
        if not isinstance(self.committer, PostgresCommitter):
            raise LeaseUnsupported(self.db)
        self.committer.fence = fence

    async def commit(self, rows: Rows, agent_rows: list[dict[str, Any]]) -> list[StoredEvent]:
        """Everything one batch of commands did, in one transaction. Returns the journal."""
        plan = write_plan(self.db.dialect, rows, agent_rows)
        ids = await self.committer.commit(plan)
        return [StoredEvent(i, j.name, j.at, j.data, j.scope) for i, j in zip(ids, rows.journal, strict=True)]

    # -- start: the engine's lasting state --------------------------------------------

    async def load_snapshot(self, now: float) -> Snapshot:
        """The engine's lasting state, read at start (and after a failed commit).

        Sized for a large open state (500,000 open threads, docs/performance.md): open threads are
        found through `ix_threads_open`, each with its pins in its own row (no message rows),
        so closed history is never scanned; the big reads take only the columns the
        engine needs, as the driver's own rows (no Row objects); the cyclic GC waits
        until all these objects exist (it would traverse them again and again)."""
        with gc_paused():
            async with self.engine.connect() as conn:
                return await self._snapshot(conn, now)

    async def _snapshot(self, conn: AsyncConnection, now: float) -> Snapshot:
        settings_rows = (await conn.execute(select(t.settings))).all()
        settings = Settings().changed({r.name: r.value for r in settings_rows})
        reasons = [
            Reason(r.code, r.label, r.requires_approval, r.retired, r.built_in, r.max_minutes)
            for r in (await conn.execute(select(t.reasons))).all()
        ]
        agents = [_agent(r) for r in await _driver_rows(conn, _AGENTS)]
        threads: list[Thread] = []
        for state in _OPEN_STATES:  # one read a state, so no row carries its state's name
            threads += _threads(await _driver_rows(conn, _OPEN_THREADS.where(t.threads.c.state == state.value)), state)
        requests = [
            ApprovalRequest(r.id, r.agent_id, State(r.requested_state), r.requested_reason, r.created_at)
            for r in (
                await conn.execute(select(t.approval_requests).where(t.approval_requests.c.state == "pending"))
            ).all()
        ]
        since = now - settings.client_affinity_timeout
        c = t.clients.c
        owners_query = select(c.client_id, c.owner_agent_id, c.owned_since).where(c.owned_since >= since)
        owners = [
            (client_id, agent_id, owned_since)
            for client_id, agent_id, owned_since in await _driver_rows(conn, owners_query.order_by(c.owned_since))
        ]
        meta = dict((await conn.execute(select(t.meta.c.key, t.meta.c.value))).all())
        next_thread = (await conn.execute(select(func.max(t.threads.c.id)))).scalar() or 0
        next_message = (await conn.execute(select(func.max(t.messages.c.id)))).scalar() or 0
        next_request = (await conn.execute(select(func.max(t.approval_requests.c.id)))).scalar() or 0
        next_chat = (await conn.execute(select(func.max(t.chat_messages.c.id)))).scalar() or 0
        # Every event carries the engine's time, which never runs backwards (one writer): the
        # last one written has the latest. One look-up by primary key, where max(at) would
        # read the whole journal (no index on `at`, and it only grows).
        latest = select(t.events.c.at).order_by(t.events.c.id.desc()).limit(1)
        clock = (await conn.execute(latest)).scalar()
        return Snapshot(
            settings=settings,
            reasons=reasons,
            agents=agents,
            threads=threads,
            requests=requests,
            owners=owners,
            next_thread_id=next_thread + 1,
            next_message_id=next_message + 1,
            next_request_id=next_request + 1,
            next_chat_id=next_chat + 1,
            clock=clock if clock is not None else float("-inf"),
            round_robin_last=int(meta.get("round_robin_last", -1)),
        )

    async def load_snapshot_at_log(self) -> tuple[Snapshot, LogPosition]:
        """The engine's lasting state and the command log's position it corresponds to, read
        in one snapshot of the database (commits landing meanwhile are in neither): a
        follower restores the first and applies the log from the second on. The client
        owners kept are those of the last logged batch's affinity window: no later batch
        can ask for an older one."""
        with gc_paused():
            async with self.snapshot_reads() as conn:
                c = t.command_log.c
                last = (await conn.execute(select(c.id, c.at).order_by(c.id.desc()).limit(1))).first()
                events = (await conn.execute(select(func.coalesce(func.max(t.events.c.id), 0)))).scalar()
                # An empty log: no batch has run (pruning keeps the last), so no client owner
                # is kept in any window.
                snapshot = await self._snapshot(conn, last.at if last is not None else 0.0)
        return snapshot, LogPosition(last.id if last is not None else 0, int(events or 0))

    async def command_log_after(self, after: int, limit: int) -> list[LoggedRow]:
        """Up to `limit` logged batches with ids above `after`, by id: what a follower applies
        next. `commands` as the column gives it (JSON: a list, or its text)."""
        if self._log_tail is not None:  # `commands` comes as the JSON's text
            rows = await self._log_tail.fetch(_LOG_AFTER, after, limit)
            return [LoggedRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        c = t.command_log.c
        query = select(c.id, c.at, c.tick, c.commands, c.last_event_id).where(c.id > after).order_by(c.id).limit(limit)
        return [LoggedRow(r.id, r.at, bool(r.tick), r.commands, r.last_event_id) for r in await self.fetch(query)]

    async def command_log_since(self, at: float) -> list[LoggedRow]:
        c = t.command_log.c
        query = select(c.id, c.at, c.tick, c.commands, c.last_event_id).where(c.at >= at).order_by(c.id)
        return [LoggedRow(r.id, r.at, bool(r.tick), r.commands, r.last_event_id) for r in await self.fetch(query)]

    async def prune_command_log(self, before: float, *, chunk: int = PRUNE_CHUNK) -> int:
        """Deletes the logged batches applied before `before`, oldest first, `chunk` rows a
        transaction (never a long lock beside the commits), and records the last one deleted
        (`pruned_through`: a follower behind it must read a new copy). The last batch is always
        kept: it is where a new copy stands, and SQLite would give its id out again. Returns
        how many were deleted."""
        c = t.command_log.c
        newest = select(func.max(c.id)).scalar_subquery()
        deleted = 0
        while True:
            async with self.engine.begin() as conn:
                query = select(c.id).where(c.at < before, c.id < newest).order_by(c.id).limit(chunk)
                rows = (await conn.execute(query)).all()
                if not rows:
                    return deleted
                last_id = rows[-1][0]
                await conn.execute(delete(t.command_log).where(c.id <= last_id))
                value = {"log_id": last_id}
                updated = await conn.execute(update(t.meta).where(t.meta.c.key == PRUNED_KEY).values(value=value))
                if not updated.rowcount:
                    await conn.execute(insert(t.meta).values(key=PRUNED_KEY, value=value))
            deleted += len(rows)
            if len(rows) < chunk:
                return deleted

    async def pruned_through(self) -> int:
        """The last logged batch deleted by `prune_command_log` (0: none)."""
        value = await self.fetch_one(select(t.meta.c.value).where(t.meta.c.key == PRUNED_KEY))
        return int(value[0]["log_id"]) if value is not None else 0

    async def last_logged(self) -> LogPosition:
        """The command log's last id and the journal's last id: where a caught-up follower is."""
        async with self.snapshot_reads() as conn:
            log_id = (await conn.execute(select(func.coalesce(func.max(t.command_log.c.id), 0)))).scalar()
            event_id = (await conn.execute(select(func.coalesce(func.max(t.events.c.id), 0)))).scalar()
        return LogPosition(int(log_id or 0), int(event_id or 0))

    async def last_activity(self) -> ActivityTracker:
        """Each agent's last activity row: where their report timeline goes on from."""
        query = text(
            """
            SELECT a.agent_id, a.at, a.state, a.reason, a.held
            FROM agents ag
            JOIN agent_activity a ON a.id = (
                SELECT b.id FROM agent_activity b WHERE b.agent_id = ag.id ORDER BY b.at DESC, b.id DESC LIMIT 1
            )
            """
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return ActivityTracker({r.agent_id: (r.at, r.state, r.reason, r.held) for r in rows})

    # -- reads for the API ------------------------------------------------------------

    @asynccontextmanager
    async def snapshot_reads(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose reads all see the database as one moment, from its first
        read on: a report made of several queries then adds up even while commits land
        between them. SQLite: a deferred transaction (its snapshot starts at the first
        read); PostgreSQL: REPEATABLE READ (READ COMMITTED would take one per statement)."""
        async with self.engine.connect() as conn:
            if self.db.is_sqlite:
                await conn.exec_driver_sql("BEGIN")
            else:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    async def fetch(self, query: Select[Any]) -> Sequence[Any]:
        async with self.engine.connect() as conn:
            rows: Sequence[Any] = (await conn.execute(query)).all()
            return rows

    async def fetch_one(self, query: Select[Any]) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).first()

    async def events_after(self, after: int, limit: int) -> list[StoredEvent]:
        query = select(t.events).where(t.events.c.id > after).order_by(t.events.c.id).limit(limit)
        return [StoredEvent(r.id, r.name, r.at, r.data, r.scope) for r in await self.fetch(query)]

    async def last_event_id(self) -> int:
        return int((await self.fetch_one(select(func.coalesce(func.max(t.events.c.id), 0))))[0])

    async def threads_page(
        self,
        *,
        state: str | None,
        agent_ids: list[int] | None,
        include_queue: bool,
        thread_id: int | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[list[Any], dict[int, list[Any]]]:
        """Threads (with messages) a caller may see: held by `agent_ids` (or anyone when
        None), plus queued ones when `include_queue`."""
        if (thread_id is not None and not fits(thread_id, MAX_BIGINT)) or not fits(after, MAX_BIGINT):
            return [], {}
        query = select(t.threads).where(t.threads.c.id > after).order_by(t.threads.c.id).limit(limit)
        if thread_id is not None:
            query = query.where(t.threads.c.id == thread_id)
        if state is not None:
            query = query.where(t.threads.c.state == state)
        threads = list(await self.fetch(visible_threads(query, agent_ids, include_queue)))
        messages: dict[int, list[Any]] = {r.id: [] for r in threads}
        if threads:
            rows = await self.fetch(
                select(t.messages).where(t.messages.c.thread_id.in_(list(messages))).order_by(t.messages.c.id)
            )
            for row in rows:
                messages[row.thread_id].append(row)
        return threads, messages

    async def message_thread(self, message_id: int) -> int | None:
        """The thread a message was written in; None when there is no such message (R8: the
        engine checks a pin against it, holding no message lists of its own)."""
        if not fits(message_id, MAX_BIGINT):
            return None
        row = await self.fetch_one(select(t.messages.c.thread_id).where(t.messages.c.id == message_id))
        return None if row is None else int(row[0])

    async def client_message_thread(self, client_id: str, text: str) -> int | None:
        """The thread the client's latest message with exactly this text went to (a message
        sent again under its idempotency key: its thread, even once closed)."""
        m = t.messages.c
        query = (
            select(m.thread_id)
            .join_from(t.messages, t.threads, t.threads.c.id == m.thread_id)
            .where(t.threads.c.client_id == client_id, m.author == "client", m.text == text)
            .order_by(m.id.desc())
            .limit(1)
        )
        row = await self.fetch_one(query)
        return None if row is None else int(row[0])

    async def approvals(self, *, state: str | None, agent_ids: list[int] | None) -> list[Any]:
        query = select(t.approval_requests).order_by(t.approval_requests.c.id)
        if state is not None:
            query = query.where(t.approval_requests.c.state == state)
        if agent_ids is not None:
            query = query.where(t.approval_requests.c.agent_id.in_(agent_ids))
        return list(await self.fetch(query))

    async def approval(self, request_id: int) -> Any:
        if not fits(request_id):
            return None
        return await self.fetch_one(select(t.approval_requests).where(t.approval_requests.c.id == request_id))


# -- reading the engine's state: the big reads -----------------------------------------

_STATES = {s.value: s for s in State}

_AGENTS = select(
    *(t.agents.c[name] for name in (
        "id", "team", "capacity", "name", "state", "reason", "since", "set_by_kind", "set_by_id", "set_by_why",
        "before_logout_state", "before_logout_reason", "ever_logged_in", "last_assigned_at", "idle_since",
        "working_since", "prompt_deadline", "connected", "connected_on", "stream_seen", "disconnected_at",
        "away_from_state", "away_from_reason", "away_at", "last_input",
    )),
    t.users.c.username,
).outerjoin(t.users, t.users.c.id == t.agents.c.id)  # fmt: skip

# The open threads of one state (a `.where` names it), each with its pins (the engine counts
# each agent's) from the thread's own row (storage/_id_lists.py): one row an open thread, none
# a message, found through `ix_threads_open`.
_OPEN_STATES = [s for s in ThreadState if s is not ThreadState.CLOSED]
_OPEN_THREADS = select(
    *(t.threads.c[name] for name in (
        "id", "client_id", "created_at", "priority", "agent_id", "assigned_at", "reserved_for",
        "reserve_deadline", "reclaim_pending", "answered_once", "pinned_ids",
    ))
)  # fmt: skip


def _agent(row: Sequence[Any]) -> Agent:
    (
        agent_id, team, capacity, name, state, reason, since, set_by_kind, set_by_id, set_by_why,
        before_logout_state, before_logout_reason, ever_logged_in, last_assigned_at, idle_since,
        working_since, prompt_deadline, connected, connected_on, stream_seen, disconnected_at,
        away_from_state, away_from_reason, away_at, last_input, username,
    ) = row  # fmt: skip
    never = float("-inf")
    return Agent(
        id=agent_id,
        team=team,
        capacity=capacity,
        name=name,
        username=username or "",
        state=_STATES[state],
        reason=reason,
        since=since,
        set_by=Actor(set_by_kind, set_by_id, set_by_why),
        before_logout=(_STATES[before_logout_state], before_logout_reason) if before_logout_state else None,
        ever_logged_in=bool(ever_logged_in),  # SQLite gives 0 and 1
        last_assigned_at=last_assigned_at if last_assigned_at is not None else never,
        idle_since=idle_since if idle_since is not None else never,
        working_since=working_since,
        prompt_deadline=prompt_deadline,
        connected_on=_connected_on(connected, connected_on),
        stream_seen=bool(stream_seen),
        disconnected_at=disconnected_at,
        away_from=(_STATES[away_from_state], away_from_reason) if away_from_state else None,
        away_at=away_at,
        last_input=last_input,
    )


_ALONE = frozenset({""})  # the one instance of a service alone


def _connected_on(connected: Any, connected_on: str | list[str] | None) -> frozenset[str]:
    """S8: the instances an agent's streams are open on. `connected` decides whether there are
    any: a version that knows only it may have written it last. Connected with no instance
    named (written by such a version) is connected on the one instance of a service alone."""
    if not connected:
        return frozenset()
    if isinstance(connected_on, str):  # the drivers give a JSON column's text
        connected_on = json.loads(connected_on)
    return frozenset(connected_on) if connected_on else _ALONE


# `_threads` passes a Thread's fields by position: a third faster than by keyword, for
# hundreds of thousands of threads. These are the fields, in this order.
_THREAD_FIELDS = (
    "id", "client_id", "created_at", "priority", "state", "agent_id", "assigned_at", "pinned",
    "reserved_for", "reserve_deadline", "reclaim_pending", "queue_seq", "answered_once",
)  # fmt: skip
if tuple(f.name for f in dataclasses.fields(Thread)) != _THREAD_FIELDS:
    raise ImportError("Thread's fields changed: update _THREAD_FIELDS and _threads() in onduty.storage.store")


def _threads(rows: Sequence[Sequence[Any]], state: ThreadState) -> list[Thread]:
    decode = id_lists.decode
    no_pins = ()  # most threads have none: one shared empty tuple, nothing to decode
    return [
        Thread(
            thread_id, client_id, created_at, priority, state, agent_id, assigned_at,
            decode(pinned_ids) if pinned_ids else no_pins, reserved_for, reserve_deadline,
            bool(reclaim_pending), 0, bool(answered_once),  # SQLite gives 0 and 1
        )
        for (
            thread_id, client_id, created_at, priority, agent_id, assigned_at, reserved_for,
            reserve_deadline, reclaim_pending, answered_once, pinned_ids,
        ) in rows
    ]  # fmt: skip


async def _driver_rows(conn: AsyncConnection, query: Select[Any]) -> list[Sequence[Any]]:
    """All rows of a query as the driver gives them (tuples from sqlite3, asyncpg Records),
    skipping SQLAlchemy's Row objects and result processing: for the reads that bring
    hundreds of thousands of rows, where those cost more than the query itself. Only for
    columns the driver returns as the engine wants them (numbers, strings; SQLite's
    booleans come as 0 and 1)."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        rows: list[Sequence[Any]] = await driver.fetch(sql)
    else:
        rows = await driver.execute_fetchall(sql)
    # aiosqlite's worker thread keeps its last result until its next call, so these rows
    # would outlive their use and the next big read could not reuse their memory: the
    # caller gets a copy and the driver's list is emptied (~70 MB fewer resident, and a
    # lower peak, for 500,000 open threads).
    mine = list(rows)
    rows.clear()
    return mine
