"""Sessions ended, and users whose cached tokens must be read again: the record every
instance follows to drop what its token cache holds.

Each instance keeps the tokens it has seen in memory for a while (web/context.py), and its
own event streams by session. A sign-out reaches one instance; so does a change to a user
that their cached tokens carry (their team). Written here in the same transaction as the
change itself, it reaches the others: each reads the rows after the last one it saw,
every second (service/session_ends.py), and drops the token (closing that session's
streams) or everything it caches of the user.

Rows are read by id, so ids must become visible in the order they are drawn, or a reader
would pass over a row committed after a later one it already read. PostgreSQL draws ids
from a sequence at insert, not at commit: writers take the table's SHARE ROW EXCLUSIVE
lock first (it excludes other writers until commit, never readers), so they commit one
after the other, in id order. SQLite has one writer at a time anyway, and AUTOINCREMENT
never gives an id twice.

A row is useful only as long as some cache may hold the token it names: `KEPT_SECONDS`,
longer than any instance keeps a token (TOKEN_CACHE_SECONDS, 600 s) by a margin for the
read that filled the cache. Each write prunes at most `PRUNE_BATCH` older rows, oldest
first: a write never pays for a backlog, and since each adds one row, the pruning keeps
up. Times are the database's clock, one for every instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, delete, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from onduty.storage import schema as t
from onduty.storage.store import SqlStore

KEPT_SECONDS = 660.0
PRUNE_BATCH = 100
READ_BATCH = 500

_ended = t.ended_sessions
_NOW = {
    "postgresql": "extract(epoch FROM clock_timestamp())::float8",
    "sqlite": "(julianday('now') - 2440587.5) * 86400.0",
}


@dataclass(frozen=True, slots=True)
class Ended:
    """One row: a session ended (`token_hash`), or every cached token of `user_id` to drop."""

    id: int
    token_hash: str | None
    user_id: int | None


def _now(conn: AsyncConnection) -> ColumnElement[float]:
    return literal_column(_NOW[conn.dialect.name], Float)


class EndedSessions:
    def __init__(self, store: SqlStore, *, kept: float = KEPT_SECONDS, prune_batch: int = PRUNE_BATCH) -> None:
        self.store = store
        self._kept, self._prune_batch = kept, prune_batch

    async def record(self, conn: AsyncConnection, *, token_hash: str | None = None, user_id: int | None = None) -> None:
        """In the caller's transaction (the revocation's, the change's): the session whose
        token has this hash ended, or every cached token of this user must be read again."""
        if (token_hash is None) == (user_id is None):
            raise ValueError("a row names a session or a user, one of the two")
        if conn.dialect.name == "postgresql":
            await conn.execute(text("LOCK TABLE ended_sessions IN SHARE ROW EXCLUSIVE MODE"))
        now = _now(conn)
        await conn.execute(_ended.insert().values(token_hash=token_hash, user_id=user_id, at=now))
        oldest = (
            select(_ended.c.id).where(_ended.c.at < now - self._kept).order_by(_ended.c.at).limit(self._prune_batch)
        )
        await conn.execute(delete(_ended).where(_ended.c.id.in_(oldest)))

    async def last_id(self) -> int:
        """Where a new follower starts: its cache is empty, nothing before concerns it."""
        return int((await self.store.fetch_one(select(func.coalesce(func.max(_ended.c.id), 0))))[0])

    async def after(self, last_id: int, limit: int = READ_BATCH) -> Sequence[Ended]:
        rows = await self.store.fetch(
            select(_ended.c.id, _ended.c.token_hash, _ended.c.user_id)
            .where(_ended.c.id > last_id)
            .order_by(_ended.c.id)
            .limit(limit)
        )
        return [Ended(int(r.id), r.token_hash, None if r.user_id is None else int(r.user_id)) for r in rows]
