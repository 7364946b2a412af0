"""What one batch of commands writes, as plain SQL and parameter tuples.

The service's commit is the hottest write path: every status change writes
the agent's row, the status log, an activity row and its journal events. Run
through SQLAlchemy's statement machinery, each of those cost more CPU than
the database spent on it (compilation, per-row parameter processing, one
driver round trip per statement). Here each kind of row becomes one
statement with its parameters in column order: a multi-row INSERT on
SQLite, one prepared `executemany` on PostgreSQL (see `inserts`).

The SQL is the same on both databases (`INSERT … ON CONFLICT … DO UPDATE`
is SQLite ≥ 3.24 and PostgreSQL ≥ 9.5), but for the placeholders.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import msgspec

from onduty.storage.activity import day_sums
from onduty.storage.projection import LoggedBatch, Rows

Params = Sequence[Any]

_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    rows: list[Params]


@dataclass(frozen=True, slots=True)
class JournalRows:
    """The journal's rows (at, name, data, scope; JSON as text), inserted last, once their
    ids are known (they number the live stream, so the committer draws them)."""

    rows: list[tuple[float, str, str, str]]


@dataclass(frozen=True, slots=True)
class WritePlan:
    statements: list[Statement]
    journal: JournalRows
    log: LoggedBatch | None = None  # inserted after the journal: it names the journal's last id


def json_text(value: Any) -> str:
    return _json.encode(value).decode()


def placeholders(dialect: str, count: int, start: int = 1) -> list[str]:
    if dialect == "postgresql":
        return [f"${i}" for i in range(start, start + count)]
    return ["?"] * count


# How many parameters one SQLite statement may take (SQLITE_MAX_VARIABLE_NUMBER).
SQLITE_MAX_PARAMETERS = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


# Bounded, least recently used out: a multi-row INSERT's text depends on its row count, and
# the texts of many rows are long; the common shapes stay.
@functools.lru_cache(maxsize=512)
def _insert_sql(dialect: str, table: str, columns: tuple[str, ...], tail: str, count: int) -> str:
    """INSERT INTO table (columns) VALUES (…), (…) tail: `count` rows."""
    width = len(columns)
    if dialect == "postgresql":
        rows = ", ".join(f"({', '.join(placeholders(dialect, width, 1 + r * width))})" for r in range(count))
    else:
        rows = ", ".join([f"({', '.join('?' * width)})"] * count)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {rows}{tail}"


# Rows per SQLite statement: powers of two up to this. Each row count is a statement of its
# own, and the committer keeps its statements prepared (a prepared statement of many rows
# holds tens of KiB of SQLite's memory). With any count from 1 to a batch's size, a table
# had hundreds of shapes, and the committer's statement cache filled with them: SQLite's
# memory grew by ~60 MiB in 40 s under 500 status changes/s (docs/performance.md). Powers
# of two leave at most 7 shapes per table, which all stay prepared (~1 MiB in all); a
# batch's 30 rows take 4 steps into SQLite instead of 1, still far fewer than one per row.
SQLITE_ROWS_PER_STATEMENT = 64


def inserts(dialect: str, table: str, columns: tuple[str, ...], rows: list[Params], tail: str = "") -> list[Statement]:
    """INSERT of `rows` (`tail`: an ON CONFLICT clause). On PostgreSQL one prepared statement
    run for every row (asyncpg pipelines them); on SQLite multi-row VALUES statements of
    power-of-two sizes (`SQLITE_ROWS_PER_STATEMENT`), largest first: a third less CPU than
    `executemany` for a batch of 30 status changes (a few steps into SQLite instead of one
    per row)."""
    if dialect == "postgresql":
        return [Statement(_insert_sql(dialect, table, columns, tail, 1), rows)]
    out = []
    first = 0
    for count in _sqlite_chunks(len(rows), max(1, SQLITE_MAX_PARAMETERS // len(columns))):
        flat = list(itertools.chain.from_iterable(rows[first : first + count]))
        out.append(Statement(_insert_sql(dialect, table, columns, tail, count), [flat]))
        first += count
    return out


def _sqlite_chunks(total: int, most: int) -> list[int]:
    """`total` rows as statement sizes: powers of two, none above `most` parameters' worth
    nor SQLITE_ROWS_PER_STATEMENT, largest first."""
    biggest = 1 << (min(most, SQLITE_ROWS_PER_STATEMENT).bit_length() - 1)
    full, rest = divmod(total, biggest)
    return [biggest] * full + [1 << bit for bit in reversed(range(rest.bit_length())) if rest >> bit & 1]


@functools.cache
def _on_conflict(columns: tuple[str, ...], key: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return f" ON CONFLICT ({key}) " + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING")


@functools.cache
def update_sql(dialect: str, table: str, columns: tuple[str, ...], key: str) -> str:
    """UPDATE … SET columns WHERE key; parameters: the columns, then the key."""
    marks = placeholders(dialect, len(columns) + 1)
    sets = ", ".join(f"{c} = {m}" for c, m in zip(columns, marks, strict=False))
    return f"UPDATE {table} SET {sets} WHERE {key} = {marks[-1]}"


JOURNAL_COLUMNS = ("id", "at", "name", "data", "scope")

DAY_COLUMNS = ("day", "agent_id", "prev_state", "prev_reason", "kind", "n", "answer_seconds", "span", "holding")
_ADD_TO_DAY = " ON CONFLICT (day, agent_id, prev_state, prev_reason, kind) DO UPDATE SET " + ", ".join(
    f"{c} = agent_activity_days.{c} + excluded.{c}" for c in DAY_COLUMNS[5:]
)


CHAT_MEMBER_COLUMNS = ("conversation_id", "user_id", "up_to")
_JOIN = " ON CONFLICT (conversation_id, user_id) DO NOTHING"
# A read mark never moves back (two tabs, or a retried request, may send an older one).
_READ_UP_TO = (
    " ON CONFLICT (conversation_id, user_id) DO UPDATE SET up_to = CASE WHEN excluded.up_to > chat_members.up_to"
    " THEN excluded.up_to ELSE chat_members.up_to END"
)


LOG_COLUMNS = ("at", "tick", "commands", "last_event_id", "epoch")


def log_insert(dialect: str, log: LoggedBatch, last_event_id: int | None) -> Statement:
    """The batch's command log row; `last_event_id`: the journal's last id after it (None
    when the batch wrote no journal entry)."""
    row = (log.at, log.tick, log.commands, last_event_id, log.epoch)
    return Statement(_insert_sql(dialect, "command_log", LOG_COLUMNS, "", 1), [row])


def journal_inserts(dialect: str, ids: list[int], journal: JournalRows) -> list[Statement]:
    rows: list[Params] = [(i, *row) for i, row in zip(ids, journal.rows, strict=True)]
    return inserts(dialect, "events", JOURNAL_COLUMNS, rows)


@functools.cache
def _getter(columns: tuple[str, ...]) -> Any:
    getter = itemgetter(*columns)
    return getter if len(columns) > 1 else (lambda row: (getter(row),))


def _as_tuples(rows: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[Params]]:
    columns = tuple(rows[0])
    return columns, list(map(_getter(columns), rows))


def _updates(dialect: str, table: str, key: str, changes: dict[Any, dict[str, Any]]) -> list[Statement]:
    """UPDATE statements for rows keyed by `key`, one per shape of change."""
    by_shape: dict[tuple[str, ...], list[Params]] = {}
    for key_value, change in changes.items():
        by_shape.setdefault(tuple(change), []).append((*change.values(), key_value))
    return [Statement(update_sql(dialect, table, shape, key), rows) for shape, rows in by_shape.items()]


def _upsert(dialect: str, table: str, key: str, rows: list[dict[str, Any]]) -> list[Statement]:
    columns, params = _as_tuples(rows)
    return inserts(dialect, table, columns, params, _on_conflict(columns, key))


def _insert(dialect: str, table: str, rows: list[dict[str, Any]]) -> list[Statement]:
    columns, params = _as_tuples(rows)
    return inserts(dialect, table, columns, params)


def write_plan(dialect: str, rows: Rows, agent_rows: list[dict[str, Any]]) -> WritePlan:
    """Every row of a batch, rows before the rows that refer to them; the journal apart (its
    ids are drawn in the transaction)."""
    out: list[Statement] = []
    if agent_rows:
        out += _upsert(dialect, "agents", "id", agent_rows)
    if rows.threads:
        out += _upsert(dialect, "threads", "id", list(rows.threads.values()))
    out += _updates(dialect, "threads", "id", rows.thread_closes)
    if rows.messages:
        out += _insert(dialect, "messages", rows.messages)
    if rows.pins:
        out += _updates(dialect, "messages", "id", {m: {"pinned": p} for m, p in rows.pins.items()})
    if rows.requests_new:
        out += _insert(dialect, "approval_requests", rows.requests_new)
    out += _updates(dialect, "approval_requests", "id", rows.requests_done)
    if rows.reasons:
        out += _upsert(dialect, "reasons", "code", list(rows.reasons.values()))
    if rows.settings:
        settings = [{"name": k, "value": json_text(v)} for k, v in rows.settings.items()]
        out += _upsert(dialect, "settings", "name", settings)
    if rows.meta:
        out += _upsert(dialect, "meta", "key", [{"key": k, "value": json_text(v)} for k, v in rows.meta.items()])
    gone = [client for client, (owner, _) in rows.owners.items() if owner is None]
    for first in range(0, len(gone), 999):
        chunk = gone[first : first + 999]
        marks = ", ".join(placeholders(dialect, len(chunk)))
        out.append(Statement(f"DELETE FROM clients WHERE client_id IN ({marks})", [tuple(chunk)]))
    kept = [
        {"client_id": client, "owner_agent_id": owner, "owned_since": since}
        for client, (owner, since) in rows.owners.items()
        if owner is not None
    ]
    if kept:
        out += _upsert(dialect, "clients", "client_id", kept)
    if rows.chat_messages:
        out += _insert(dialect, "chat_messages", rows.chat_messages)
    if rows.chat_joins:
        joins: list[Params] = [(conversation, user, 0) for conversation, user in sorted(rows.chat_joins)]
        out += inserts(dialect, "chat_members", CHAT_MEMBER_COLUMNS, joins, _JOIN)
    if rows.chat_reads:
        reads: list[Params] = [(conversation, user, up_to) for (conversation, user), up_to in rows.chat_reads.items()]
        out += inserts(dialect, "chat_members", CHAT_MEMBER_COLUMNS, reads, _READ_UP_TO)
    if rows.status_log:
        out += _insert(dialect, "status_log", rows.status_log)
    if rows.activity:
        out += _insert(dialect, "agent_activity", rows.activity)
        days: list[Params] = list(day_sums(rows.activity))  # a few rows: one per agent and kind
        out += inserts(dialect, "agent_activity_days", DAY_COLUMNS, days, _ADD_TO_DAY)
    journal = [(j.at, j.name, json_text(j.data), json_text(j.scope)) for j in rows.journal]
    return WritePlan(out, JournalRows(journal), rows.log)
