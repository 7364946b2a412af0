"""One PostgreSQL connection of its own, outside the SQLAlchemy pool: for the statements
that must never queue behind the API's reads (the lease's renewals, the instances'
heartbeats). One statement at a time; a connection that fails or a statement that is
cancelled is dropped, and the next call opens another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from onduty.storage.database import Database, asyncpg_connect_args


class OwnConnection:
    def __init__(self, db: Database, timeout: float) -> None:
        self._connect_args = asyncpg_connect_args(db)
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._run(lambda conn: conn.fetchrow(sql, *args, timeout=self._timeout))

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self._run(lambda conn: conn.fetch(sql, *args, timeout=self._timeout)))

    async def execute(self, sql: str, *args: Any) -> str:
        return str(await self._run(lambda conn: conn.execute(sql, *args, timeout=self._timeout)))

    async def _run(self, statement: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        async with self._lock:
            conn = await self._connection()
            try:
                return await statement(conn)
            except asyncpg.PostgresError:
                raise  # the statement failed; the connection is fine
            except BaseException:
                self._drop(conn)
                raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            async with asyncio.timeout(self._timeout):
                self._conn = await asyncpg.connect(**self._connect_args)
        return self._conn

    def _drop(self, conn: asyncpg.Connection) -> None:
        """Lost, timed out or cancelled mid-statement: whatever state the connection is
        in, the next call starts on a new one."""
        self._conn = None
        conn.terminate()
