"""The --database option every command that opens a database shares."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncpg
import click
from sqlalchemy.exc import DBAPIError

from onduty.service.service import ServiceUnavailable
from onduty.storage.database import ENV_VAR, Database, DatabaseUrlError, resolve
from onduty.storage.migrate import MigrationRefused, SchemaTooNew

T = TypeVar("T")


def database_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--database",
        "database_url",
        envvar=ENV_VAR,
        default=None,
        metavar="URL",
        help="sqlite:///path/file.db or postgresql://user@host:port/db (default: onduty.db here).",
    )(func)


def open_database(url: str | None) -> Database:
    try:
        return resolve(url)
    except DatabaseUrlError as error:
        raise click.BadParameter(str(error), param_hint="'--database'") from None


_UNUSABLE = (
    OSError,
    DBAPIError,
    sqlite3.Error,
    asyncpg.PostgresError,
    ServiceUnavailable,
    SchemaTooNew,
    MigrationRefused,
)


def run_on(db: Database, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work on `db`. A database that cannot be opened, reached or written,
    whose schema is newer than this onduty, or whose data a migration refuses, is a one-line
    error naming it."""
    try:
        return asyncio.run(work)
    except _UNUSABLE as error:
        raise click.ClickException(f"cannot use the database {db.shown()}: {_reason(error)}") from None


def _reason(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error  # SQLAlchemy's wrapper: the driver's own error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__  # a bare TimeoutError says nothing else
