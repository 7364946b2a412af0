"""The --database option every command that opens a database shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from onduty.storage.database import ENV_VAR, Database, DatabaseUrlError, resolve


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
