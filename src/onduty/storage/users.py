"""Users, teams and API tokens. People, not engine state: written directly, not through commands."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from onduty.storage import schema as t
from onduty.storage.ended_sessions import EndedSessions
from onduty.storage.store import SqlStore, fits
from onduty.usernames import UsernameError, normalise, skeleton

ROLES = ("agent", "supervisor", "admin", "integration")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    name: str
    role: str
    team: str | None
    active: bool

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.name, "role": self.role, "team": self.team}


class UsernameTaken(ValueError):
    """The username, or one that looks like it (onduty/usernames.py), belongs to someone."""


async def _ensure_team(conn: AsyncConnection, team: str, now: float) -> None:
    """Create the team unless it exists; two creations at once must not collide."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(dialect.insert(t.teams).values(name=team, created_at=now).on_conflict_do_nothing())


def _shown(username: str) -> str:
    """Quoted, with escapes beside it when it is not plain ASCII: look-alikes differ there."""
    quoted, escaped = repr(username), ascii(username)
    return quoted if quoted == escaped else f"{quoted} ({escaped})"


def _user(row: Any) -> User:
    return User(row.id, row.username, row.name, row.role, row.team, row.active)


class UserStore:
    def __init__(self, store: SqlStore, *, ended: EndedSessions | None = None) -> None:
        self.store = store
        # What every instance's token cache follows: revocations and team changes are recorded
        # there in their own transaction.
        self.ended = ended or EndedSessions(store)

    async def create(
        self, *, username: str, name: str, role: str, team: str | None, password_hash: str | None, now: float
    ) -> User:
        """UsernameError for a username that cannot be anyone's; UsernameTaken when it, or one
        that looks like it, exists (the unique skeleton decides, also for two creations at once)."""
        username = normalise(username)
        shape = skeleton(username)
        try:
            async with self.store.writer.begin() as conn:
                if team is not None:
                    await _ensure_team(conn, team, now)
                result = await conn.execute(
                    t.users.insert().values(
                        username=username,
                        username_skeleton=shape,
                        name=name,
                        role=role,
                        team=team,
                        password_hash=password_hash,
                        active=True,
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise UsernameTaken(await self._taken(username, shape)) from None
        user_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        assert user_id is not None
        return User(int(user_id), username, name, role, team, True)

    async def _taken(self, username: str, shape: str) -> str:
        holder = await self.store.fetch_one(select(t.users.c.username).where(t.users.c.username_skeleton == shape))
        if holder is None or holder.username == username:
            return f"username {_shown(username)} is taken"
        return f"username {_shown(username)} looks like the existing {_shown(holder.username)}"

    async def by_id(self, user_id: int) -> User | None:
        if not fits(user_id):
            return None
        row = await self.store.fetch_one(select(t.users).where(t.users.c.id == user_id))
        return _user(row) if row else None

    async def by_ids(self, user_ids: Collection[int]) -> dict[int, User]:
        wanted = sorted({i for i in user_ids if fits(i)})
        if not wanted:
            return {}
        rows = await self.store.fetch(select(t.users).where(t.users.c.id.in_(wanted)))
        return {row.id: _user(row) for row in rows}

    async def people(self, *, team: str | None = None, search: str | None = None, limit: int = 50) -> list[User]:
        """Active users who chat (agents, supervisors, admins), by name: of `team` when given,
        whose name or username contains `search` (any case) when given."""
        u = t.users.c
        query = select(t.users).where(u.active.is_(True), u.role.in_(("agent", "supervisor", "admin")))
        if team is not None:
            query = query.where(u.team == team)
        if search:
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(func.lower(u.name).like(pattern, escape="\\"), u.username.like(pattern, escape="\\"))
            )
        rows = await self.store.fetch(query.order_by(func.lower(u.name), u.id).limit(limit))
        return [_user(row) for row in rows]

    async def by_username(self, username: str) -> tuple[User, str | None] | None:
        """The user and their password hash, by the username as typed (normalised here)."""
        try:
            username = normalise(username)
        except UsernameError:
            return None
        row = await self.store.fetch_one(select(t.users).where(t.users.c.username == username))
        return (_user(row), row.password_hash) if row else None

    async def by_token_hash(self, token_hash: str) -> User | None:
        row = await self.store.fetch_one(
            select(t.users)
            .join(t.tokens, t.tokens.c.user_id == t.users.c.id)
            .where(t.tokens.c.token_hash == token_hash)
        )
        return _user(row) if row and row.active else None

    async def all(self) -> list[User]:
        return [_user(r) for r in await self.store.fetch(select(t.users).order_by(t.users.c.id))]

    async def teams(self) -> list[str]:
        return [r.name for r in await self.store.fetch(select(t.teams).order_by(t.teams.c.name))]

    async def add_token(self, user_id: int, token_hash: str, now: float) -> None:
        async with self.store.writer.begin() as conn:
            await conn.execute(t.tokens.insert().values(token_hash=token_hash, user_id=user_id, created_at=now))

    async def revoke_token(self, token_hash: str) -> None:
        """The token works no more, and its session is recorded as ended (every instance drops
        it from its cache and closes its streams)."""
        async with self.store.writer.begin() as conn:
            await conn.execute(delete(t.tokens).where(t.tokens.c.token_hash == token_hash))
            await self.ended.record(conn, token_hash=token_hash)

    async def set_team(self, user_id: int, team: str, now: float) -> None:
        """The user's new team; every instance reads their tokens again (a cached token
        carries the team)."""
        async with self.store.writer.begin() as conn:
            await _ensure_team(conn, team, now)
            await conn.execute(update(t.users).where(t.users.c.id == user_id).values(team=team))
            await self.ended.record(conn, user_id=user_id)
