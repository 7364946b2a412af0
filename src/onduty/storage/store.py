"""The store: one transaction per batch of commands, and the reads the API needs.

Writes go through one connection at a time (the service is the single
writer); reads use the pool. The same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onduty.domain.model import Agent, ApprovalRequest, Thread
from onduty.domain.reasons import Reason
from onduty.domain.restore import Snapshot
from onduty.domain.settings import Settings
from onduty.domain.types import Actor, State, ThreadState
from onduty.storage import schema as t
from onduty.storage.activity import ActivityTracker
from onduty.storage.database import Database, create_engine
from onduty.storage.projection import Rows

# The widest values the id columns hold (Integer and BigId on PostgreSQL). An id from
# outside cannot name a row beyond them; asking the database would be an error, not "none".
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1


def fits(value: int, limit: int = MAX_INT) -> bool:
    return -limit - 1 <= value <= limit


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as it was committed: its id orders the live stream and lets clients resume."""

    id: int
    name: str
    at: float
    data: dict[str, Any]
    scope: dict[str, Any]


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine: AsyncEngine = create_engine(db)  # reads
        # Writes: the service's commits and the users' changes (one engine on PostgreSQL).
        self.writer: AsyncEngine = create_engine(db, writes=True) if db.is_sqlite else self.engine

    async def close(self) -> None:
        await self.engine.dispose()
        if self.writer is not self.engine:
            await self.writer.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # -- the writer ---------------------------------------------------------------

    async def commit(self, rows: Rows, agent_rows: list[dict[str, Any]]) -> list[StoredEvent]:
        """Everything one batch of commands did, in one transaction. Returns the journal."""
        async with self.writer.begin() as conn:
            if agent_rows:
                await self._upsert(conn, t.agents, agent_rows, ["id"])
            if rows.threads:
                await self._upsert(conn, t.threads, list(rows.threads.values()), ["id"])
            for thread_id, changes in rows.thread_closes.items():
                await conn.execute(update(t.threads).where(t.threads.c.id == thread_id).values(**changes))
            if rows.messages:
                await conn.execute(t.messages.insert(), rows.messages)
            for message_id, pinned in rows.pins.items():
                await conn.execute(update(t.messages).where(t.messages.c.id == message_id).values(pinned=pinned))
            if rows.requests_new:
                await conn.execute(t.approval_requests.insert(), rows.requests_new)
            for request_id, changes in rows.requests_done.items():
                await conn.execute(
                    update(t.approval_requests).where(t.approval_requests.c.id == request_id).values(**changes)
                )
            if rows.reasons:
                await self._upsert(conn, t.reasons, list(rows.reasons.values()), ["code"])
            if rows.settings:
                await self._upsert(
                    conn, t.settings, [{"name": k, "value": v} for k, v in rows.settings.items()], ["name"]
                )
            if rows.meta:
                await self._upsert(conn, t.meta, [{"key": k, "value": v} for k, v in rows.meta.items()], ["key"])
            await self._owners(conn, rows.owners)
            if rows.status_log:
                await conn.execute(t.status_log.insert(), rows.status_log)
            if rows.activity:
                await conn.execute(t.agent_activity.insert(), rows.activity)
            return await self._journal(conn, rows)

    async def _journal(self, conn: AsyncConnection, rows: Rows) -> list[StoredEvent]:
        if not rows.journal:
            return []
        values = [{"at": j.at, "name": j.name, "data": j.data, "scope": j.scope} for j in rows.journal]
        result = await conn.execute(t.events.insert().returning(t.events.c.id, sort_by_parameter_order=True), values)
        ids = [row[0] for row in result]
        return [StoredEvent(i, j.name, j.at, j.data, j.scope) for i, j in zip(ids, rows.journal, strict=True)]

    async def _owners(self, conn: AsyncConnection, owners: dict[str, tuple[int | None, float]]) -> None:
        gone = [client for client, (owner, _) in owners.items() if owner is None]
        kept = [
            {"client_id": client, "owner_agent_id": owner, "owned_since": since}
            for client, (owner, since) in owners.items()
            if owner is not None
        ]
        if gone:
            await conn.execute(delete(t.clients).where(t.clients.c.client_id.in_(gone)))
        if kept:
            await self._upsert(conn, t.clients, kept, ["client_id"])

    async def _upsert(self, conn: AsyncConnection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
        await conn.execute(_upsert_statement(conn.dialect.name, table, tuple(rows[0]), tuple(keys)), rows)

    # -- start: the engine's lasting state --------------------------------------------

    async def load_snapshot(self, now: float) -> Snapshot:
        async with self.engine.connect() as conn:
            settings_rows = (await conn.execute(select(t.settings))).all()
            settings = Settings().changed({r.name: r.value for r in settings_rows})
            reasons = [
                Reason(r.code, r.label, r.requires_approval, r.retired, r.built_in)
                for r in (await conn.execute(select(t.reasons))).all()
            ]
            usernames = dict((await conn.execute(select(t.users.c.id, t.users.c.username))).all())
            agents = [_agent(r, usernames.get(r.id, "")) for r in (await conn.execute(select(t.agents))).all()]
            open_threads = {
                r.id: _thread(r)
                for r in (
                    await conn.execute(select(t.threads).where(t.threads.c.state != ThreadState.CLOSED.value))
                ).all()
            }
            if open_threads:
                # Messages of open threads only: the engine checks pins against them.
                query = (
                    select(t.messages.c.thread_id, t.messages.c.id, t.messages.c.pinned)
                    .join(t.threads, t.threads.c.id == t.messages.c.thread_id)
                    .where(t.threads.c.state != ThreadState.CLOSED.value)
                    .order_by(t.messages.c.id)
                )
                for thread_id, message_id, pinned in (await conn.execute(query)).all():
                    thread = open_threads[thread_id]
                    thread.message_ids.append(message_id)
                    if pinned:
                        thread.pinned.append(message_id)
            requests = [
                ApprovalRequest(r.id, r.agent_id, State(r.requested_state), r.requested_reason, r.created_at)
                for r in (
                    await conn.execute(select(t.approval_requests).where(t.approval_requests.c.state == "pending"))
                ).all()
            ]
            since = now - settings.client_affinity_timeout
            owners = [
                (r.client_id, r.owner_agent_id, r.owned_since)
                for r in (await conn.execute(select(t.clients).where(t.clients.c.owned_since >= since))).all()
            ]
            meta = dict((await conn.execute(select(t.meta.c.key, t.meta.c.value))).all())
            next_thread = (await conn.execute(select(func.max(t.threads.c.id)))).scalar() or 0
            next_message = (await conn.execute(select(func.max(t.messages.c.id)))).scalar() or 0
            next_request = (await conn.execute(select(func.max(t.approval_requests.c.id)))).scalar() or 0
            clock = (await conn.execute(select(func.max(t.events.c.at)))).scalar()
        return Snapshot(
            settings=settings,
            reasons=reasons,
            agents=agents,
            threads=list(open_threads.values()),
            requests=requests,
            owners=owners,
            next_thread_id=next_thread + 1,
            next_message_id=next_message + 1,
            next_request_id=next_request + 1,
            clock=clock if clock is not None else float("-inf"),
            round_robin_last=int(meta.get("round_robin_last", -1)),
        )

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
        if agent_ids is not None:
            agent_ids = [a for a in agent_ids if fits(a)]
        query = select(t.threads).where(t.threads.c.id > after).order_by(t.threads.c.id).limit(limit)
        if thread_id is not None:
            query = query.where(t.threads.c.id == thread_id)
        if state is not None:
            query = query.where(t.threads.c.state == state)
        if agent_ids is not None:
            visible: list[ColumnElement[bool]] = [t.threads.c.agent_id.in_(agent_ids)]
            if include_queue:
                # The general queue, and threads waiting for one of these agents (R4); a thread
                # waiting for another team's agent is that team's.
                queued = t.threads.c.state == ThreadState.QUEUED.value
                waiting_for = t.threads.c.reserved_for
                visible.append(and_(queued, or_(waiting_for.is_(None), waiting_for.in_(agent_ids))))
            query = query.where(or_(*visible))
        threads = list(await self.fetch(query))
        messages: dict[int, list[Any]] = {r.id: [] for r in threads}
        if threads:
            rows = await self.fetch(
                select(t.messages).where(t.messages.c.thread_id.in_(list(messages))).order_by(t.messages.c.id)
            )
            for row in rows:
                messages[row.thread_id].append(row)
        return threads, messages

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

    async def message_in_thread(self, thread_id: int, message_id: int) -> bool:
        row = await self.fetch_one(
            select(t.messages.c.id).where(and_(t.messages.c.id == message_id, t.messages.c.thread_id == thread_id))
        )
        return row is not None


@functools.cache
def _upsert_statement(dialect_name: str, table: Any, columns: tuple[str, ...], keys: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE, built once per shape: every commit writes the same few."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    updates = {c: stmt.excluded[c] for c in columns if c not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates) if updates else stmt


def _agent(row: Any, username: str) -> Agent:
    before = (State(row.before_logout_state), row.before_logout_reason) if row.before_logout_state else None
    never = float("-inf")
    return Agent(
        id=row.id,
        team=row.team,
        capacity=row.capacity,
        name=row.name,
        username=username,
        state=State(row.state),
        reason=row.reason,
        since=row.since,
        set_by=Actor(row.set_by_kind, row.set_by_id, row.set_by_why),
        before_logout=before,
        ever_logged_in=row.ever_logged_in,
        last_assigned_at=row.last_assigned_at if row.last_assigned_at is not None else never,
        idle_since=row.idle_since if row.idle_since is not None else never,
        working_since=row.working_since,
        prompt_deadline=row.prompt_deadline,
    )


def _thread(row: Any) -> Thread:
    return Thread(
        id=row.id,
        client_id=row.client_id,
        created_at=row.created_at,
        priority=row.priority,
        state=ThreadState(row.state),
        agent_id=row.agent_id,
        assigned_at=row.assigned_at,
        reserved_for=row.reserved_for,
        reserve_deadline=row.reserve_deadline,
        reclaim_pending=row.reclaim_pending,
        answered_once=row.answered_once,
    )
