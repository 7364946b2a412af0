"""The token cache: a request needs no database read to know its caller, and what the
cache holds stays bounded, in size and in time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete

from onduty.service.auth import token_hash
from onduty.storage import schema as t
from onduty.web import context
from tests.integration.api_client import Api, Person


async def revoke_behind_the_servers_back(api: Api, who: Person) -> None:
    """As another process would (or an operator with SQL): no notice reaches the server."""
    async with api.store.writer.begin() as conn:
        await conn.execute(delete(t.tokens).where(t.tokens.c.token_hash == token_hash(who.token)))


async def test_a_cached_token_is_known_without_the_database_until_it_is_pushed_out(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for two tokens, the least recently used of three is dropped: a token deleted from the
    database behind the server's back still works while cached, and stops working once the
    cache lets it go (sign-out through the server drops it at once; see test_api_*)."""
    monkeypatch.setattr(context, "TOKEN_CACHE_SIZE", 2)
    first, second, third = [await api.person("supervisor", team="a") for _ in range(3)]
    await api.call(first, "GET", "/me", expect=200)
    await api.call(second, "GET", "/me", expect=200)
    await revoke_behind_the_servers_back(api, first)
    await revoke_behind_the_servers_back(api, second)
    await api.call(first, "GET", "/me", expect=200)  # cached: no read, so still known
    await api.call(third, "GET", "/me", expect=200)  # a third token pushes out the least recently used
    await api.call(second, "GET", "/me", expect=401)  # read again, and gone
    await api.call(first, "GET", "/me", expect=200)  # seen since, so kept


async def test_a_cached_token_is_read_again_once_its_time_is_up(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    who = await api.person("supervisor", team="a")
    await api.call(who, "GET", "/me", expect=200)
    await revoke_behind_the_servers_back(api, who)
    await api.call(who, "GET", "/me", expect=200)
    monkeypatch.setattr(context, "TOKEN_CACHE_SECONDS", 0.0)
    await api.call(who, "GET", "/me", expect=401)


async def test_a_read_that_a_sign_out_overtook_is_not_cached(api: Api) -> None:
    """A token read from the database while a session ended (here or on another instance)
    may have been read before that revocation committed: it answers that one request but is
    not cached, or a revoked token could go on working from the cache for ten minutes."""
    who, other = [await api.person("supervisor", team="a") for _ in range(2)]
    reading = asyncio.create_task(api.ctx.user_for_token(who.token))
    await asyncio.sleep(0)  # the read is under way
    api.ctx.session_ended(token_hash(other.token))  # as the record of sessions ended hands it on
    assert await reading is not None
    await revoke_behind_the_servers_back(api, who)
    await api.call(who, "GET", "/me", expect=401)  # read again: not cached
