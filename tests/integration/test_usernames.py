"""Usernames have one spelling (NFKC, case-folded, trimmed) wherever they come in, and no two
users' usernames look alike (UTS #39 skeletons): through the API, the CLI and sign-in, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from click.testing import CliRunner

from onduty.cli.main import main
from onduty.storage.database import Database
from tests.integration.api_client import Api

PASSWORD = "correct horse"


async def add(api: Api, username: str, *, expect: int, **extra: Any) -> dict[str, Any]:
    body = {"username": username, "role": "agent", "team": "support"} | extra
    response = await api.call(api.admin, "POST", "/users", body, expect=expect)
    found: dict[str, Any] = response.json() if expect == 201 else api.error(response)
    return found


async def usernames(api: Api) -> list[str]:
    return sorted(u["username"] for u in await api.json(api.admin, "GET", "/users", expect=200))


async def sign_in(api: Api, username: str, password: str = PASSWORD) -> Any:
    return await api.call(None, "POST", "/auth/token", {"username": username, "password": password})


async def test_a_username_is_stored_normalised_and_found_however_it_is_typed(api: Api) -> None:
    created = await add(api, " A1 ", expect=201, password=PASSWORD)
    assert created["username"] == "a1"
    assert "a1" in await usernames(api)
    for typed in ("a1", "A1", " A1 ", "\u00a0a1\t", "\uff21\uff11"):  # fullwidth Ａ１ is A1 under NFKC
        response = await sign_in(api, typed)
        assert response.status_code == 200, (typed, response.text)
        assert response.json()["user"]["username"] == "a1"
    assert (await add(api, "Straße", expect=201))["username"] == "strasse"  # case-folded, not lowered


async def test_the_same_username_in_another_case_or_with_spaces_is_taken(api: Api) -> None:
    await add(api, "a1", expect=201)
    before = await usernames(api)
    for again in ("a1", "A1", " a1 ", "\uff41\uff11"):
        error = await add(api, again, expect=409)
        assert (error["code"], error["field"]) == ("conflict", "username")
        assert "'a1' is taken" in error["message"]
    assert await usernames(api) == before


@pytest.mark.parametrize(
    ("first", "look_alike"),
    [("admin", "\u0430dmin"), ("paypal", "paypa1"), ("mary", "rnary"), ("\u0430dmin", "admin")],
    ids=["cyrillic-a", "digit-one-for-l", "rn-for-m", "cyrillic-first"],
)
async def test_a_username_that_looks_like_an_existing_one_is_refused(api: Api, first: str, look_alike: str) -> None:
    await add(api, first, expect=201)
    before = await usernames(api)
    error = await add(api, look_alike, expect=409)
    assert (error["code"], error["field"]) == ("conflict", "username")
    assert f"looks like the existing {first!r}" in error["message"]
    assert await usernames(api) == before


async def test_usernames_the_table_does_not_confuse_are_distinct(api: Api) -> None:
    for name in ("ann", "anne", "bob0", "bobo", "a-1", "a_1"):
        await add(api, name, expect=201)


async def test_two_look_alike_creations_at_once_let_exactly_one_in(api: Api) -> None:
    """The database's unique skeleton decides, not a check before the insert."""
    for attempt in range(3):
        pair = (f"twin{attempt}x", f"tw\u0456n{attempt}x")  # Cyrillic і for i
        bodies = [{"username": name, "role": "agent", "team": "support"} for name in pair]
        responses = await asyncio.gather(*(api.call(api.admin, "POST", "/users", body) for body in bodies))
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert len([name for name in await usernames(api) if name.startswith("tw")]) == 3


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("   ", "empty"),
        ("\u3000", "empty"),  # an ideographic space is a space under NFKC
        ("a\tb", "U+0009"),
        ("a\u200bb", "U+200B"),  # zero-width space
        ("a\u202eb", "U+202E"),  # right-to-left override
        ("a  b", "two spaces"),
        ("x" * 79 + "\u00bd", "at most 80"),  # NFKC makes ½ three characters
    ],
    ids=["spaces", "ideographic-space", "tab", "zero-width", "bidi-override", "double-space", "too-long-once-normal"],
)
async def test_a_username_that_is_empty_or_holds_invisible_characters_is_refused(
    api: Api, typed: str, why: str
) -> None:
    before = await usernames(api)
    error = await add(api, typed, expect=400)
    assert (error["code"], error["field"]) == ("invalid", "username")
    assert why in error["message"]
    response = await sign_in(api, typed)
    assert response.status_code == 400, response.text
    assert api.error(response)["field"] == "username"
    assert await usernames(api) == before


async def test_failed_sign_ins_count_against_the_normalised_username(api: Api) -> None:
    """Another spelling is the same username for the limit too: five failures in any case or
    spacing, and the sixth attempt is refused (429) even with the right password."""
    await add(api, "ann", expect=201, password=PASSWORD)
    for typed in ("ANN", " ann", "Ann ", "aNn", "\uff41nn"):
        assert (await sign_in(api, typed, "battery staple")).status_code == 401
    response = await sign_in(api, "ann")
    assert response.status_code == 429, response.text


def cli_add(database: Database, username: str) -> Any:
    return CliRunner().invoke(main, ["users", "add", username, "--role", "agent", "--database", database.url])


def test_cli_users_add_normalises_and_refuses_look_alikes(database: Database) -> None:
    result = cli_add(database, " Admin ")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["username"] == "admin"
    for other, says in [
        ("ADMIN", "username: username 'admin' is taken"),
        ("\u0430dmin", "username: username '\u0430dmin' ('\\u0430dmin') looks like the existing 'admin'"),
        ("  ", "username: username must not be empty"),
        ("ad\u200dmin", "username: username must not contain control or invisible characters (U+200D)"),
    ]:
        result = cli_add(database, other)
        assert result.exit_code == 2, result.output
        assert says in result.output, result.output
