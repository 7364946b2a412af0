"""The record of sessions ended (storage/ended_sessions.py) and an instance following it
(service/session_ends.py): a revocation and a team change are recorded in their own
transaction; a follower starts at the record's end, applies every later row once and in
order, lives through the database going away, and never passes over a row committed late;
old rows are pruned a few at each write. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from sqlalchemy import func, select, text

from onduty.service.session_ends import SessionEnds
from onduty.storage import schema as t
from onduty.storage.database import Database
from onduty.storage.ended_sessions import KEPT_SECONDS, EndedSessions
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from onduty.web.context import TOKEN_CACHE_SECONDS

WAIT = 5.0
SESSION = "a" * 64


class Applied:
    """What a follower handed on, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | int]] = []

    def session(self, digest: str) -> None:
        self.seen.append(("session", digest))

    def user(self, user_id: int) -> None:
        self.seen.append(("user", user_id))

    def follower(self, ended: EndedSessions, every: float = 0.02, batch: int = 500) -> SessionEnds:
        return SessionEnds(ended, on_session=self.session, on_user=self.user, every=every, batch=batch)

    async def until(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.seen) < count:
                await asyncio.sleep(0.01)


async def record(ended: EndedSessions, *, token_hash: str | None = None, user_id: int | None = None) -> None:
    async with ended.store.writer.begin() as conn:
        await ended.record(conn, token_hash=token_hash, user_id=user_id)


async def rows(store: SqlStore) -> int:
    return int((await store.fetch_one(select(func.count()).select_from(t.ended_sessions)))[0])


def test_rows_outlive_every_cached_token() -> None:
    assert KEPT_SECONDS > TOKEN_CACHE_SECONDS


async def test_a_revocation_and_a_team_change_are_recorded_with_them(store: SqlStore) -> None:
    users = UserStore(store)
    ann = await users.create(username="ann", name="Ann", role="agent", team="a", password_hash=None, now=0)
    await users.add_token(ann.id, SESSION, 0)
    await users.revoke_token(SESSION)
    await users.set_team(ann.id, "b", 0)
    assert await users.by_token_hash(SESSION) is None
    recorded = await users.ended.after(0)
    assert [(r.token_hash, r.user_id) for r in recorded] == [(SESSION, None), (None, ann.id)]
    assert recorded[0].id < recorded[1].id


async def test_a_follower_starts_at_the_end_and_applies_each_later_row_once_in_order(store: SqlStore) -> None:
    ended = EndedSessions(store)
    await record(ended, token_hash="0" * 64)  # before it started: its cache never held it
    applied = Applied()
    follower = applied.follower(ended, batch=2)  # a page of 2: several pages in one pass
    await follower.start()
    try:
        for n in range(1, 6):
            await record(ended, token_hash=str(n) * 64)
        await record(ended, user_id=7)
        await applied.until(6)
        await asyncio.sleep(0.1)  # and nothing twice
        assert applied.seen == [("session", str(n) * 64) for n in range(1, 6)] + [("user", 7)]
    finally:
        await follower.stop()


async def test_a_follower_lives_through_the_database_going_away(store: SqlStore) -> None:
    """The record out of reach (its table renamed away: every read fails) for a while: the
    loop goes on, and applies what was written meanwhile once it can read again."""
    ended = EndedSessions(store)
    applied = Applied()
    follower = applied.follower(ended)
    await follower.start()
    try:
        async with store.writer.begin() as conn:
            await conn.execute(text("ALTER TABLE ended_sessions RENAME TO ended_sessions_away"))
        await asyncio.sleep(0.2)  # several failed reads
        async with store.writer.begin() as conn:
            await conn.execute(
                text("INSERT INTO ended_sessions_away (token_hash, at) VALUES (:h, :at)"),
                {"h": SESSION, "at": time.time()},  # now, or the next write prunes it
            )
            await conn.execute(text("ALTER TABLE ended_sessions_away RENAME TO ended_sessions"))
        await record(ended, user_id=3)
        await applied.until(2)
        assert applied.seen == [("session", SESSION), ("user", 3)]
    finally:
        await follower.stop()


async def test_old_rows_are_pruned_a_few_at_each_write(store: SqlStore) -> None:
    """Pruned oldest first, at most a batch at each write; a row younger than the time kept
    stays."""
    kept, pruning = EndedSessions(store), EndedSessions(store, kept=0.0, prune_batch=2)
    for n in range(5):
        await record(kept, token_hash=str(n) * 64)
    await asyncio.sleep(0.01)  # the database's clock moves on: those five are older than 0 s
    await record(pruning, user_id=1)
    assert [r.token_hash for r in await kept.after(0)] == ["2" * 64, "3" * 64, "4" * 64, None]
    await record(kept, user_id=2)  # kept 660 s: prunes none of them
    assert await rows(store) == 5
    for user_id in (3, 4):
        await asyncio.sleep(0.01)
        await record(pruning, user_id=user_id)
    assert [r.user_id for r in await kept.after(0)] == [2, 3, 4]


async def test_a_row_names_a_session_or_a_user(store: SqlStore) -> None:
    ended = EndedSessions(store)
    with pytest.raises(ValueError, match="one of the two"):
        await record(ended)
    with pytest.raises(ValueError, match="one of the two"):
        await record(ended, token_hash=SESSION, user_id=1)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_follower_misses_no_row_of_instances_writing_at_once(database: Database) -> None:
    """Ids are drawn at insert and become visible at commit: two instances writing at once
    must commit in id order, or a follower that read the later row already would pass over
    the earlier one for ever."""
    stores = [SqlStore(database) for _ in range(3)]
    applied = Applied()
    follower = applied.follower(EndedSessions(stores[0]), every=0.001)
    await follower.start()
    try:
        writers = [EndedSessions(store) for store in stores[1:]]
        at_once = asyncio.Semaphore(6)  # a few connections: the server is shared

        async def write(ended: EndedSessions, n: int) -> None:
            async with at_once, ended.store.writer.begin() as conn:
                await ended.record(conn, user_id=n)
                await asyncio.sleep(0.001 * (n % 3))  # commits late, now and then

        await asyncio.gather(*(write(writers[n % 2], n) for n in range(300)))
        with contextlib.suppress(TimeoutError):
            await applied.until(300)
        missed = set(range(300)) - {u for _, u in applied.seen}
        assert not missed, f"passed over for ever: {sorted(missed)}"
        assert sorted(u for _, u in applied.seen) == list(range(300))
    finally:
        await follower.stop()
        for store in stores:
            await store.close()
