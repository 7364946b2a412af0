"""What every route reaches: this instance's node (live state), the database's reads and the
accounts (the service's), and who is calling."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency

from onduty.domain.types import Actor
from onduty.service.accounts import Accounts
from onduty.service.auth import token_hash
from onduty.service.chat import Chat
from onduty.service.connections import AgentStreams
from onduty.service.node import Node
from onduty.service.passwords import Passwords
from onduty.service.reads import Reads
from onduty.service.sign_in_limits import FailedSignIns, SignInLimits
from onduty.service.stream_sessions import OpenStreams
from onduty.storage.users import User, UserStore
from onduty.web.errors import forbidden, unauthorized

# Tokens recently seen, so that a request needs no database read to know its caller.
# Revocations and team changes drop their entries at once on the instance that made them,
# and within a second on every other (the record of sessions ended that each follows:
# service/session_ends.py). The time limit bounds how long a change made around the API
# (a user's row edited by hand, say) can go unseen. The size limit bounds memory: beyond
# it the least recently used go.
TOKEN_CACHE_SECONDS = 600.0
TOKEN_CACHE_SIZE = 100_000
CALLER_SCOPE_KEY = "onduty.caller"
UNKNOWN_TOKEN = "unknown or revoked token"


@dataclass(slots=True)
class AppContext:
    node: Node
    users: UserStore
    sign_in_limits: SignInLimits = field(default_factory=SignInLimits)
    passwords: Passwords = field(default_factory=Passwords)
    # token hash -> (user, when read from the database), least recently used first
    _tokens: dict[str, tuple[User, float]] = field(default_factory=dict)
    # Counts what was dropped from `_tokens`: a read from the database that a drop overtook
    # (it may have seen the token before its revocation committed) is not cached.
    _drops: int = 0
    streams: AgentStreams = field(init=False)  # S8: agents' open event streams
    # Every open event stream by the token it was opened for (directly or by a ticket).
    open_streams: OpenStreams = field(default_factory=OpenStreams)
    # The routes' way to the database (service/reads.py, service/accounts.py), over the store
    # the users are kept in: the service's.
    reads: Reads = field(init=False)
    accounts: Accounts = field(init=False)
    chat: Chat = field(init=False)
    failed_sign_ins: FailedSignIns = field(init=False)

    def __post_init__(self) -> None:
        self.streams = AgentStreams(self.node)
        self.reads = Reads(self.users.store)
        self.accounts = Accounts(self.users)
        self.chat = Chat(self.node, self.users.store, self.accounts)
        self.failed_sign_ins = FailedSignIns(self.sign_in_limits, self.node.now)

    async def user_for_token(self, token: str) -> User | None:
        digest = token_hash(token)
        tokens = self._tokens
        cached = tokens.get(digest)
        if cached is not None and time.monotonic() - cached[1] < TOKEN_CACHE_SECONDS:
            tokens[digest] = tokens.pop(digest)  # now the most recently used; its age is kept
            return cached[0]
        drops = self._drops
        user = await self.users.by_token_hash(digest)
        if user is None:
            self._tokens.pop(digest, None)
            return None
        if user.role == "agent":
            await self.node.ensure_agent(user.id, username=user.username, name=user.name, team=user.team)
        if drops == self._drops:
            self._remember_token(digest, user)
        return user

    def _remember_token(self, digest: str, user: User) -> None:
        tokens = self._tokens
        tokens.pop(digest, None)  # re-inserted: now the most recently used
        tokens[digest] = (user, time.monotonic())
        if len(tokens) > TOKEN_CACHE_SIZE:
            del tokens[next(iter(tokens))]

    async def end_session(self, token: str) -> None:
        """Sign-out: the token no longer works, nor the event streams it opened; here at
        once, on the other instances when they read the record of it (within a second)."""
        digest = token_hash(token)
        await self.users.revoke_token(digest)
        self.session_ended(digest)

    async def set_team(self, user_id: int, team: str) -> None:
        """The user's new team; their cached tokens carry the old one: dropped here at once,
        elsewhere from the record."""
        await self.users.set_team(user_id, team, self.node.now())
        self.forget_user(user_id)

    def session_ended(self, digest: str) -> None:
        """The session of the token with this hash ended (here or on another instance)."""
        self._drops += 1
        self._tokens.pop(digest, None)
        self.open_streams.end_session(digest)

    def forget_user(self, user_id: int) -> None:
        """The user's tokens are read from the database again at their next use."""
        self._drops += 1
        for digest in [d for d, (u, _) in self._tokens.items() if u.id == user_id]:
            del self._tokens[digest]


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppContext:
    ctx: AppContext = connection.app.state.ctx
    return ctx


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return bearer_token(connection.headers.get("authorization", ""))


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header's value, if it is one."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def provide_caller(request: Request[Any, Any, Any], ctx: NamedDependency[AppContext]) -> User:
    """Who is calling, by their bearer token; 401 otherwise. Takes `ctx` as a dependency of
    its own, so that Litestar resolves the two one after the other: two independent
    dependencies are resolved in an anyio task group, a task per dependency per request
    (a third of a status change's CPU)."""
    known = cast("User | None", request.scope.get(CALLER_SCOPE_KEY))
    if known is not None:
        return known  # found already, by strict_body
    token = bearer(request)
    if token is None:
        raise unauthorized()
    user = await ctx.user_for_token(token)
    if user is None:
        raise unauthorized(UNKNOWN_TOKEN)
    request.scope[CALLER_SCOPE_KEY] = user  # type: ignore[literal-required]
    return user


def provide_ctx(request: Request[Any, Any, Any]) -> AppContext:
    return context_of(request)


def actor_of(user: User) -> Actor:
    if user.role == "agent":
        return Actor.agent(user.id)
    if user.role == "supervisor":
        return Actor.supervisor(user.id)
    if user.role == "admin":
        return Actor.admin(user.id)
    raise forbidden("this role does not act on agents or threads")


def require(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise forbidden(f"needs the role {' or '.join(roles)}; you are {user.role}")


# What a route declares to receive them (explicit dependencies; see app.py).
Ctx = NamedDependency[AppContext]
Caller = NamedDependency[User]
