"""People and their ways in, for the routes: users and teams, API tokens, the event stream's
single-use tickets. Beside reads.py, the web layer's other way to the database.

People are not engine state: they are read and written in the database directly, not
through commands, and every instance sees the same. Revoking a token is the web context's
(`AppContext.end_session`): its cache of tokens and the streams a session opened go with it.
"""

from __future__ import annotations

from collections.abc import Collection

from onduty.storage.tickets import Issued, StreamTickets, TicketRefused, TooManyTickets
from onduty.storage.users import User, UsernameTaken, UserStore

__all__ = ["Accounts", "Issued", "TicketRefused", "TooManyTickets", "User", "UsernameTaken"]


class Accounts:
    def __init__(self, users: UserStore) -> None:
        self._users = users
        self._tickets = StreamTickets(users.store)

    # -- reads --------------------------------------------------------------------------

    async def all(self) -> list[User]:
        """Every user, by id."""
        return await self._users.all()

    async def teams(self) -> list[str]:
        """Every team's name, in order."""
        return await self._users.teams()

    async def by_id(self, user_id: int) -> User | None:
        return await self._users.by_id(user_id)

    async def by_ids(self, user_ids: Collection[int]) -> dict[int, User]:
        """The users with these ids (unknown ones left out), by id."""
        return await self._users.by_ids(user_ids)

    async def people(self, *, team: str | None = None, search: str | None = None, limit: int = 50) -> list[User]:
        """Active people (agents, supervisors, admins) by name; of a team, or matching `search`."""
        return await self._users.people(team=team, search=search, limit=limit)

    async def by_username(self, username: str) -> tuple[User, str | None] | None:
        """The user and their password hash, by the username as typed."""
        return await self._users.by_username(username)

    async def by_token_hash(self, token_hash: str) -> User | None:
        """The active user the token belongs to; None for an unknown or revoked token."""
        return await self._users.by_token_hash(token_hash)

    # -- writes -------------------------------------------------------------------------

    async def create(
        self, *, username: str, name: str, role: str, team: str | None, password_hash: str | None, now: float
    ) -> User:
        """UsernameError for a username that cannot be anyone's; UsernameTaken when it, or one
        that looks like it, is someone's."""
        return await self._users.create(
            username=username, name=name, role=role, team=team, password_hash=password_hash, now=now
        )

    async def add_token(self, user_id: int, token_hash: str, now: float) -> None:
        await self._users.add_token(user_id, token_hash, now)

    # -- the event stream's tickets -----------------------------------------------------

    async def issue_ticket(self, user_id: int, token_hash: str, now: float) -> Issued:
        """A ticket for the session of the token with this hash; TooManyTickets beyond the limits."""
        return await self._tickets.issue(user_id, token_hash, now)

    async def redeem_ticket(self, ticket: str, now: float) -> str:
        """The hash of the token that asked for the ticket, which is now spent; TicketRefused
        when it was used, has expired or is unknown."""
        return await self._tickets.redeem(ticket, now)
