"""`onduty serve --demo` (cli/demo.py): a team a newcomer can look around in, on SQLite
and PostgreSQL, with the server's own clock under the test's hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from onduty.cli.demo import PEOPLE, announce, seed
from onduty.service.clock import ManualClock
from onduty.storage.database import Database
from tests.integration.api_client import Api, Person
from tests.integration.conftest import RunningServer


@dataclass(frozen=True, slots=True)
class Demo:
    api: Api
    tokens: dict[str, str]  # by username

    async def person(self, username: str) -> Person:
        token = self.tokens[username]
        me = await self.api.json(Person(0, username, "", token), "GET", "/me", expect=200)
        return Person(me["id"], username, me["role"], token, me.get("team"))


@pytest.fixture
async def demo(database: Database) -> AsyncIterator[Demo]:
    clock = ManualClock()
    server = RunningServer(database, clock)
    async with server as address:
        tokens = await seed(server.app.state.ctx)  # on an empty database, as `serve --demo`
        assert tokens is not None
        async with Api(address, server.app, clock) as api:
            yield Demo(api, tokens)


async def test_r6_demo_threads_wait_in_the_queue_until_an_agent_goes_active(demo: Demo) -> None:
    api = demo.api
    sam = await demo.person("sam")
    agents = await api.json(sam, "GET", "/agents", expect=200)
    assert [a["status"]["state"] for a in agents if a["status"]["state"] == "active"] == []
    queue = await api.json(sam, "GET", "/queue", expect=200)
    assert (queue["length"], queue["routing"]) == (2, "halted")
    ann = await demo.person("ann")
    await api.call(ann, "PUT", "/me/status", {"state": "active"}, expect=200)
    assert (await api.json(ann, "GET", "/me", expect=200))["agent"]["threads"] == 2
    assert (await api.json(sam, "GET", "/queue", expect=200))["length"] == 0


async def test_s6_demo_newcomer_is_not_asked_to_continue_while_looking_around(demo: Demo) -> None:
    """Demo timeouts: ten minutes to answer before "continue working?", two to confirm."""
    api = demo.api
    settings = await api.json(api.admin, "GET", "/settings", expect=200)
    assert (settings["response_timeout"], settings["prompt_timeout"]) == (600, 120)
    ann = await demo.person("ann")
    await api.call(ann, "PUT", "/me/status", {"state": "active"}, expect=200)
    await api.advance(9 * 60)
    me = await api.json(ann, "GET", "/me", expect=200)
    assert (me["status"]["state"], me["agent"]["prompt_deadline"]) == ("active", None)
    await api.advance(60 + 100)  # asked at ten minutes; still time to confirm
    me = await api.json(ann, "GET", "/me", expect=200)
    assert me["status"]["state"] == "active"
    assert me["agent"]["prompt_deadline"] is not None


async def test_demo_prints_each_token_with_whose_it_is(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    announce(demo.api.store.db, demo.tokens, "http://127.0.0.1:8000")
    lines = capsys.readouterr().out.splitlines()
    for username, role, _, _ in PEOPLE:
        [line] = [line for line in lines if demo.tokens[username] in line and "curl" not in line]
        assert line.split() == [role, username, f"{username}-demo", demo.tokens[username]]
        me = await demo.api.json(await demo.person(username), "GET", "/me", expect=200)
        assert (me["username"], me["role"]) == (username, role)
    assert any("response_timeout" in line and "10 min" in line for line in lines)
