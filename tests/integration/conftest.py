"""API tests against a real server, on SQLite and on PostgreSQL.

Each test gets a running `onduty` app (uvicorn on an ephemeral loopback port,
in the test's event loop) over a clean database, a manual clock it moves by
hand, and an HTTP client whose every response is checked against the
published OpenAPI document.

PostgreSQL is the real server on 127.0.0.1:5432 (ONDUTY_TEST_POSTGRES to
point elsewhere). Without it the PostgreSQL half skips with the reason; under
CI=true it fails instead, so CI never passes without having run it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn

from onduty.service.clock import ManualClock
from onduty.storage import schema
from onduty.storage.database import Database, resolve
from onduty.storage.migrate import upgrade_sync
from onduty.storage.store import SqlStore
from onduty.web.app import create_app
from tests.integration.api_client import Api
from tests.postgres_lock import postgres_in_use

PG_ADMIN = os.environ.get("ONDUTY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _postgres_shared(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test here but the one that restarts PostgreSQL holds it shared (tests/postgres_lock.py)."""
    if request.node.get_closest_marker("restarts_postgres") is not None:
        yield
        return
    with postgres_in_use():
        yield


async def _pg_execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://"), timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _pg_reachable() -> str | None:
    try:
        asyncio.run(_pg_execute(PG_ADMIN, "SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"PostgreSQL is not reachable at {PG_ADMIN}: {error!r}"
    return None


def new_postgres_database(prefix: str) -> Database:
    """A new PostgreSQL database named `prefix` and a random suffix, migrated; skips without
    the server, fails under CI. Drop it with `drop_postgres_database`."""
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: the PostgreSQL tests must run)")
        pytest.skip(problem)
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    base, _, _ = PG_ADMIN.rpartition("/")
    asyncio.run(_pg_execute(PG_ADMIN, f'CREATE DATABASE "{name}"'))
    db = resolve(f"{base}/{name}")
    upgrade_sync(db)
    return db


def drop_postgres_database(db: Database) -> None:
    name = db.url.rpartition("/")[2]
    asyncio.run(_pg_execute(PG_ADMIN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database]:
    """A database of its own for this test session, migrated once, dropped at the end. Made
    and dropped outside any test (before the first that asks for it, after the last), so
    under the lock of its own: another worker may be restarting the server then."""
    with postgres_in_use():
        db = new_postgres_database("onduty_test_")
    yield db
    with postgres_in_use():
        drop_postgres_database(db)


# Every table of the schema (a new one is emptied between tests without being listed here).
TABLES = tuple(schema.metadata.tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A clean, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "onduty.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return resolve(f"sqlite:///{path}")
    db: Database = request.getfixturevalue("postgres_database")
    asyncio.run(_pg_execute(db.url, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return db


class RunningServer:
    """The app under uvicorn on a free loopback port, inside the current event loop."""

    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.app = create_app(db, clock=clock)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    clock = ManualClock()
    server = RunningServer(database, clock)
    async with server as address, Api(address, server.app, clock) as client:
        yield client


ServeAsgi = Callable[..., Awaitable[str]]  # (app, keep_alive=5) -> its base URL


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """An ASGI request's whole body."""
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


@pytest.fixture
async def serve() -> AsyncIterator[ServeAsgi]:
    """Starts uvicorn with a small ASGI app on a free port of loopback (as many as the test
    asks); its base URL. `keep_alive`: the seconds uvicorn keeps an idle connection open."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(app: Any, keep_alive: int = 5) -> str:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, lifespan="off", timeout_keep_alive=keep_alive
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        servers.append((server, task))
        return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

    yield start
    for server, task in servers:
        server.should_exit = True
        await task


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    """The store on the test's database (SQLite and PostgreSQL)."""
    store = SqlStore(database)
    try:
        yield store
    finally:
        await store.close()
