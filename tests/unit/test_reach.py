"""Which errors say the database is out of reach (a 503: try again) and which are a
statement refused (a bug: 500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from onduty.storage.reach import out_of_reach


def wrapped(error: BaseException) -> DBAPIError:
    """As SQLAlchemy raises a driver's error: the driver's in `orig`."""
    return DBAPIError("SELECT 1", None, error)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("connect call failed"),
        TimeoutError(),
        OSError("network is unreachable"),
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("unable to open database file"),
        wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")),
        wrapped(asyncpg.exceptions.ConnectionFailureError("connection failure")),
        wrapped(asyncpg.exceptions.TooManyConnectionsError("too many clients")),
        OperationalError("SELECT 1", None, ConnectionResetError("reset"), connection_invalidated=True),
    ],
)
def test_these_say_the_database_is_out_of_reach(error: BaseException) -> None:
    assert out_of_reach(error)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        FileNotFoundError("no such file"),
        sqlite3.OperationalError("no such table: agents"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        ProgrammingError("SELECT", None, Exception("syntax error")),
        wrapped(asyncpg.exceptions.UndefinedTableError('relation "agents" does not exist')),
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
    ],
)
def test_these_are_statements_refused(error: BaseException) -> None:
    assert not out_of_reach(error)
