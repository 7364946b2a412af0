"""Database URLs and engines: SQLite by default, PostgreSQL by URL.

Users write `sqlite:///path/file.db` or `postgresql://user@host:port/db`; we
pick the async driver (aiosqlite, asyncpg). SQLite runs in WAL mode with a
busy timeout and `synchronous=FULL`: a commit the service acknowledged has
reached the disk, so it survives a crash or power loss (group commit pays
that fsync once per batch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_FILE = "onduty.db"
ENV_VAR = "ONDUTY_DATABASE_URL"

BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another's lock

# Every SQLite connection, the service's committer's included.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
)


class DatabaseUrlError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Database:
    """A database location, in the form users write and the form drivers need."""

    url: str  # as given (password hidden when shown)
    async_url: str
    dialect: str  # sqlite | postgresql

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file (the URL's path, unescaped, without its query)."""
        path = make_url(self.async_url).database if self.is_sqlite else None
        if not path:
            raise ValueError(f"{self.shown()} is not a SQLite file")  # resolve() makes none such
        return Path(path)

    def shown(self) -> str:
        return (
            make_url(self.async_url)
            .render_as_string(hide_password=True)
            .replace("+aiosqlite", "")
            .replace("+asyncpg", "")
        )


def resolve(url: str | None = None) -> Database:
    """The URL given, else ONDUTY_DATABASE_URL, else a SQLite file in the working folder."""
    raw = url or os.environ.get(ENV_VAR) or f"sqlite:///{Path.cwd() / DEFAULT_FILE}"
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise DatabaseUrlError(
            f"not a database URL: {raw!r} (use sqlite:///path/file.db or postgresql://user@host:port/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUrlError("a SQLite URL needs a file path, like sqlite:///onduty.db")
        return Database(raw, parsed.set(drivername="sqlite+aiosqlite").render_as_string(False), "sqlite")
    if backend in ("postgresql", "postgres"):
        return Database(raw, parsed.set(drivername="postgresql+asyncpg").render_as_string(False), "postgresql")
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def create_engine(db: Database, *, pool_size: int = 10, writes: bool = False) -> AsyncEngine:
    """An engine for reads, or with `writes` for write transactions.

    On SQLite a write transaction takes the write lock when it begins (BEGIN
    IMMEDIATE), so that it waits its turn (busy_timeout): a deferred one that
    reads first and writes later fails at once, without waiting, if another
    connection committed in between (SQLITE_BUSY_SNAPSHOT), and the users'
    writes run beside the service's commits. Reads stay deferred.
    """
    if db.is_sqlite:
        engine = create_async_engine(db.async_url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_pragmas(engine)
        if writes:
            _sqlite_begin_immediate(engine)
        return engine
    return create_async_engine(db.async_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def asyncpg_connect_args(db: Database) -> dict[str, Any]:
    """Keyword arguments for `asyncpg.connect`: the options SQLAlchemy's pool connects with
    (several hosts included), less its own. For the connections kept outside the pool."""
    dialect: Any = PGDialect_asyncpg  # untyped in SQLAlchemy
    _, options = dialect().create_connect_args(make_url(db.async_url))
    for own in ("async_creator_fn", "prepared_statement_cache_size", "prepared_statement_name_func"):
        options.pop(own, None)
    result: dict[str, Any] = options
    return result


def _sqlite_begin_immediate(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()
