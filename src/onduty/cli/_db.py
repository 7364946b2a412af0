"""The --database option every command that opens a database shares."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
from sqlalchemy.exc import DBAPIError

from onduty.storage.database import ENV_VAR, Database, DatabaseUrlError, resolve

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


def run_on(db: Database, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work on `db`; a database that cannot be opened, reached or written is a clear
    error naming it, not a traceback."""
    try:
        return asyncio.run(work)
    except (OSError, DBAPIError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise click.ClickException(f"cannot use the database {db.shown()}: {reason}") from None
