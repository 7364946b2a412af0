"""Telling a database out of reach from a statement it refused.

A database that is down, restarting, refusing connections or cut off mid-way is worth
a retry (the API answers 503); a statement it refuses is a bug (500). The drivers raise
both through the same classes, so the difference is read from what they carry: the
socket error, SQLAlchemy's invalidated connection, PostgreSQL's SQLSTATE, SQLite's
busy and I/O conditions.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

# PostgreSQL: class 08 (connection exception); the server shutting down or starting up
# (57P01-57P03); too many connections (53300).
_PG_OUT_OF_REACH = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE_OUT_OF_REACH = ("database is locked", "unable to open database file", "disk i/o error")


def out_of_reach(error: BaseException) -> bool:
    """Does `error` (or what it was raised from) say the database could not be reached?"""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _says_out_of_reach(current):
            return True
        orig = getattr(current, "orig", None) if isinstance(current, DBAPIError) else None
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return False


def _says_out_of_reach(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.Error):
        return isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(_SQLITE_OUT_OF_REACH)
    if isinstance(error, ConnectionError | TimeoutError) or type(error) is OSError:
        return True
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_PG_OUT_OF_REACH):
        return True
    # A database that refuses new connections (ALLOW_CONNECTIONS false, during maintenance).
    return sqlstate == "55000" and "not currently accepting connections" in str(error)
