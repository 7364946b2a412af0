"""No answer shows what was not saved (PRODUCT.md §5: what the service acknowledged is
never lost), on SQLite and PostgreSQL.

The database itself holds the service's commit back: another connection takes the write
lock, so a batch is applied in the engine but cannot be committed. While it waits:

- every read (`/agents`, `/agents/{id}`, `/presence`, `/me`, `/queue`) shows committed state
  only: it answers after the commit, never with the waiting change;
- if the commit then fails (PostgreSQL: the committer's connection is killed), the change
  is answered 503 and no read ever shows it;
- two commands committed in one batch each answer their own outcome, not the batch's last.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.api_client import Api, Person

LUNCH = {"state": "inactive", "reason": "lunch"}
SETTLE = 0.3  # long enough for an answer that does not wait for the commit to come back


@asynccontextmanager
async def commits_held(api: Api) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Holds every commit of the service back until the block ends (or until the
    yielded function kills the committer's connection, on PostgreSQL)."""
    db = api.store.db
    if db.dialect == "sqlite":
        path = db.sqlite_path
        assert path is not None
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")  # the write lock: the committer waits on it

        async def no_kill() -> None:
            raise AssertionError("only the PostgreSQL test kills the committer")

        try:
            yield no_kill
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    url = db.url.replace("postgresql+asyncpg://", "postgres://").replace("postgresql://", "postgres://")
    locker = await asyncpg.connect(url)
    await locker.execute("BEGIN")
    await locker.execute("LOCK TABLE agents, status_log IN EXCLUSIVE MODE")

    async def kill_committer() -> None:
        """Ends the connection of whoever waits on our lock: the service's commit."""
        for _ in range(200):
            killed = await locker.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if killed:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("no commit was waiting on the lock")

    try:
        yield kill_committer
    finally:
        await locker.execute("ROLLBACK")
        await locker.close()


async def waiting_commit(api: Api, agent: Person) -> None:
    """Until the writer has applied the agent's lunch and waits on the database to commit it."""
    for _ in range(500):
        if api.service.workspace.agents[agent.id].reason == "lunch":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the change never reached the engine")


Read = Callable[[Api, Person, Person], Coroutine[Any, Any, httpx.Response]]


def reads() -> dict[str, Read]:
    def get(path: str, as_agent: bool = False, **params: str) -> Read:
        async def read(api: Api, supervisor: Person, agent: Person) -> httpx.Response:
            who = agent if as_agent else supervisor
            asked = {key: value.format(id=agent.id) for key, value in params.items()}
            return await api.call(who, "GET", path.format(id=agent.id), params=asked, expect=200)

        return read

    return {
        "agents": get("/agents"),
        "agent": get("/agents/{id}"),
        "presence": get("/presence", ids="{id}"),
        "me": get("/me", as_agent=True),
        "queue": get("/queue"),
    }


def shows_lunch(body: Any) -> bool:
    """Does the answer show the agent at lunch (or, for /queue, routing halted by it)?"""
    if isinstance(body, dict) and "routing" in body:
        return bool(body["routing"] == "halted")
    rows = body if isinstance(body, list) else [body]
    statuses = [row.get("status") for row in rows]
    return any(status is not None and status.get("reason") == "lunch" for status in statuses)


@pytest.mark.parametrize("name", list(reads()))
async def test_a_read_never_shows_a_change_that_is_not_committed(api: Api, name: str) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    read = reads()[name]
    assert not shows_lunch((await read(api, supervisor, agent)).json())
    async with commits_held(api):
        change = asyncio.create_task(api.call(supervisor, "PUT", f"/agents/{agent.id}/status", LUNCH, expect=200))
        await waiting_commit(api, agent)
        reading = asyncio.create_task(read(api, supervisor, agent))
        await asyncio.sleep(SETTLE)
        # The read waits for the commit; an answer now would show the change unsaved.
        if reading.done():
            assert not shows_lunch(reading.result().json()), f"{name} showed an uncommitted status"
        assert not reading.done(), f"{name} answered before the commit it had to wait for"
        assert not change.done()
    assert (await change).json()["reason"] == "lunch"
    assert shows_lunch((await reading).json())  # once committed, it is shown


async def test_a_change_whose_commit_fails_is_never_shown(api: Api) -> None:
    if api.store.db.dialect == "sqlite":
        pytest.skip("the committer's connection is killed on PostgreSQL; SQLite's commit waits for its lock")
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    async with commits_held(api) as kill_committer:
        change = asyncio.create_task(api.call(supervisor, "PUT", f"/agents/{agent.id}/status", LUNCH))
        await waiting_commit(api, agent)
        readings = [asyncio.create_task(read(api, supervisor, agent)) for read in reads().values()]
        await asyncio.sleep(SETTLE)
        await kill_committer()
        assert (await change).status_code == 503
        for reading in readings:
            assert not shows_lunch((await reading).json())
    for read in reads().values():
        assert not shows_lunch((await read(api, supervisor, agent)).json())
    log = await api.json(supervisor, "GET", "/reports/status-log", params={"agent_id": agent.id})
    assert log["items"] and all(item["to"]["reason"] != "lunch" for item in log["items"])


async def test_two_changes_committed_together_each_answer_their_own(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    path = f"/agents/{agent.id}/status"
    async with commits_held(api):
        first = asyncio.create_task(api.call(supervisor, "PUT", path, LUNCH, expect=200))
        await waiting_commit(api, agent)
        # These two wait in the inbox meanwhile, so that they are applied and committed together.
        mine = asyncio.create_task(
            api.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "short_break"}, expect=200)
        )
        theirs = asyncio.create_task(api.call(supervisor, "PUT", path, {"state": "active"}, expect=200))
        for _ in range(500):
            if api.service._inbox.qsize() == 2:
                break
            await asyncio.sleep(0.01)
        assert api.service._inbox.qsize() == 2
    assert (await first).json()["reason"] == "lunch"
    assert (await mine).json()["reason"] == "short_break"
    assert (await theirs).json()["state"] == "active"
    assert (await api.json(supervisor, "GET", f"/agents/{agent.id}"))["status"]["state"] == "active"


async def test_a_commands_check_sees_the_commands_before_it_in_its_batch(api: Api) -> None:
    """A supervisor's permission is judged on the state the command applies to: moved to
    another team by a command just before theirs (in the same batch), the agent is no
    longer theirs to change, and the change is refused as not found."""
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    other = await api.ready_agent()
    async with commits_held(api):
        first = asyncio.create_task(api.call(supervisor, "PUT", f"/agents/{agent.id}/status", LUNCH, expect=200))
        await waiting_commit(api, agent)
        moved = asyncio.create_task(
            api.call(api.admin, "PATCH", f"/agents/{other.id}", {"team": "elsewhere"}, expect=200)
        )
        for _ in range(500):
            if api.service._inbox.qsize() == 1:
                break
            await asyncio.sleep(0.01)
        changed = asyncio.create_task(api.call(supervisor, "PUT", f"/agents/{other.id}/status", LUNCH))
        for _ in range(500):
            if api.service._inbox.qsize() == 2:
                break
            await asyncio.sleep(0.01)
        assert api.service._inbox.qsize() == 2
    await first
    await moved
    refused = await changed
    assert refused.status_code == 404, refused.text
    assert api.error(refused)["field"] == "agent_id"
    assert (await api.json(api.admin, "GET", f"/agents/{other.id}"))["status"]["state"] == "active"


@asynccontextmanager
async def database_unreachable(api: Api) -> AsyncIterator[None]:
    """PostgreSQL refuses new connections to the service's database and ends its open ones."""
    db = api.store.db
    url = db.url.replace("postgresql+asyncpg://", "postgres://").replace("postgresql://", "postgres://")
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_while_the_engine_cannot_be_rebuilt_nothing_is_shown_or_applied(api: Api) -> None:
    """A commit fails and the database cannot be read either: the engine may hold the lost
    change, so every read and command is answered 503 until the writer has rebuilt it from
    the database; then reads show what the database holds."""
    if api.store.db.dialect == "sqlite":
        pytest.skip("PostgreSQL is made unreachable; a SQLite file cannot be")
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await api.call(supervisor, "GET", "/me", expect=200)  # their token is known before the database goes
    async with database_unreachable(api):
        change = await api.call(supervisor, "PUT", f"/agents/{agent.id}/status", LUNCH)
        assert change.status_code == 503, change.text
        refused = await api.call(supervisor, "GET", f"/agents/{agent.id}")
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        again = await api.call(supervisor, "PUT", f"/agents/{agent.id}/status", {"state": "not_ready"})
        assert again.status_code == 503, again.text
    for _ in range(200):  # the writer retries with a pause that grows to 5 s
        answer = await api.call(supervisor, "GET", f"/agents/{agent.id}")
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"]["state"] == "active"


async def test_a_database_out_of_reach_is_a_503_not_a_500(api: Api) -> None:
    """A request whose token must be read while PostgreSQL refuses connections is answered
    503 with Retry-After (try again), not as a bug."""
    if api.store.db.dialect == "sqlite":
        pytest.skip("PostgreSQL is made unreachable; a SQLite file cannot be")
    supervisor = await api.person("supervisor")  # their token is not read yet
    async with database_unreachable(api):
        answer = await api.call(supervisor, "GET", "/me")
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert api.error(answer)["code"] == "unavailable"
    assert (await api.call(supervisor, "GET", "/me")).status_code == 200
