"""The write plan's SQL, without a database: SQLite's multi-row statements are chunked
within the parameter limit and keep every row once and in order; PostgreSQL gets one
statement per table, its placeholders numbered $1..$n; upserts update every column
but the key. (tests/integration/test_committer.py runs these plans on real databases.)"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import sqlite3
from typing import Any

import pytest
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.schema import CreateTable

from onduty.storage import _write_plan as wp
from onduty.storage import schema
from onduty.storage._write_plan import Statement, journal_inserts, write_plan
from onduty.storage.projection import Rows
from tests.unit.write_plan_helpers import (
    AGENT_COLUMNS,
    MESSAGE_COLUMNS,
    STATUS_LOG_COLUMNS,
    THREAD_COLUMNS,
    agent,
    journal,
    messages,
    status_log,
    thread,
    values,
)

_INSERT = re.compile(r"^INSERT INTO (\w+) \(([^)]*)\) VALUES (.*?)(?: ON CONFLICT \((\w+)\) (.*))?$")
_UPDATE = re.compile(r"^UPDATE (\w+) SET (.*) WHERE (\w+) = (\S+)$")


def a_batch() -> tuple[Rows, list[dict[str, Any]]]:
    """5 agents, 7 threads, 12 messages, 25 status_log rows and 20 journal entries."""
    rows = Rows(
        status_log=status_log(25),
        messages=messages(12),
        threads={i: thread(i) for i in range(100, 107)},
        journal=journal(20),
    )
    return rows, [agent(i) for i in range(1, 6)]


def parsed(statement: Statement) -> tuple[str, tuple[str, ...], str, str | None, str | None]:
    """(table, columns, the VALUES text, the ON CONFLICT key, what it does) of an INSERT."""
    match = _INSERT.match(statement.sql)
    assert match is not None, statement.sql
    table, columns, marks, key, action = match.groups()
    return table, tuple(columns.split(", ")), marks, key, action


def by_table(statements: list[Statement]) -> dict[str, list[Statement]]:
    out: dict[str, list[Statement]] = {}
    for statement in statements:
        out.setdefault(parsed(statement)[0], []).append(statement)
    return out


def sqlite_rows(statements: list[Statement]) -> list[tuple[Any, ...]]:
    """The rows of SQLite statements (one flat parameter list each), back in row form."""
    out: list[tuple[Any, ...]] = []
    for statement in statements:
        _, columns, marks, _, _ = parsed(statement)
        [flat] = statement.rows  # one execution of one multi-row statement
        assert marks.count("?") == len(flat)
        assert len(flat) % len(columns) == 0
        out += [tuple(flat[i : i + len(columns)]) for i in range(0, len(flat), len(columns))]
    return out


def test_sqlite_splits_rows_into_statements_within_the_parameter_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a limit of 40 parameters, every table's rows are spread over statements of
    power-of-two sizes, largest first, as few as those sizes allow; no statement takes more
    than 40 parameters, and the statements hold every row exactly once, in the order given."""
    monkeypatch.setattr(wp, "SQLITE_MAX_PARAMETERS", 40)
    rows, agents = a_batch()
    plan = write_plan("sqlite", rows, agents)

    tables = by_table(plan.statements)
    assert list(tables) == ["agents", "threads", "messages", "status_log"]  # rows before the rows that refer to them
    expected = {
        "agents": (AGENT_COLUMNS, values(agents, AGENT_COLUMNS)),
        "threads": (THREAD_COLUMNS, values(list(rows.threads.values()), THREAD_COLUMNS)),
        "messages": (MESSAGE_COLUMNS, values(rows.messages, MESSAGE_COLUMNS)),
        "status_log": (STATUS_LOG_COLUMNS, values(rows.status_log, STATUS_LOG_COLUMNS)),
    }
    for table, (columns, table_rows) in expected.items():
        statements = tables[table]
        per = 1 << ((40 // len(columns)).bit_length() - 1)  # the largest power of two that fits
        full, rest = divmod(len(table_rows), per)
        assert len(statements) == full + rest.bit_count() > 1, table
        sizes = []
        for statement in statements:
            assert parsed(statement)[1] == columns
            [flat] = statement.rows
            assert len(flat) <= 40
            sizes.append(len(flat) // len(columns))
        assert sizes == sorted(sizes, reverse=True), table
        assert all(size & (size - 1) == 0 for size in sizes), table
        assert sqlite_rows(statements) == table_rows, table

    ids = list(range(7, 27))
    events = journal_inserts("sqlite", ids, plan.journal)
    assert [len(flat) // 5 for [flat] in (e.rows for e in events)] == [8, 8, 4]
    written = sqlite_rows(events)
    assert [(i, at, name) for i, at, name, _, _ in written] == [
        (i, j.at, j.name) for i, j in zip(ids, rows.journal, strict=True)
    ]
    assert [(json.loads(data), json.loads(scope)) for *_, data, scope in written] == [
        (j.data, j.scope) for j in rows.journal
    ]


def test_sqlite_statement_shapes_are_few_whatever_the_batch_sizes() -> None:
    """The committer keeps its statements prepared, one per distinct text, and a prepared
    statement of many rows holds much of SQLite's memory: batches of every size from 1 to
    300 rows give a table at most 7 statement texts (1, 2, 4 … 64 rows), not one per size."""
    texts: set[str] = set()
    for count in range(1, 301):
        rows: list[wp.Params] = list(values(status_log(count), STATUS_LOG_COLUMNS))
        statements = wp.inserts("sqlite", "status_log", STATUS_LOG_COLUMNS, rows)
        assert sum(len(flat) for [flat] in (s.rows for s in statements)) == count * len(STATUS_LOG_COLUMNS)
        texts.update(statement.sql for statement in statements)
    assert len(texts) <= 7, len(texts)


def test_sqlite_upserts_update_every_column_but_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk of an upsert carries the ON CONFLICT clause; it sets every column but the key."""
    monkeypatch.setattr(wp, "SQLITE_MAX_PARAMETERS", 40)
    rows, agents = a_batch()
    for statement in write_plan("sqlite", rows, agents).statements:
        table, columns, _, key, action = parsed(statement)
        if table in ("messages", "status_log"):
            assert key is None, "plain inserts: a duplicate is an error, not an update"
            continue
        assert key == "id"
        assert action == "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")


def test_postgresql_writes_each_table_in_one_statement_numbered_from_1() -> None:
    """PostgreSQL: one statement per table, run for every row; its placeholders are $1..$n for
    the n columns, and each row's parameters are its values in column order."""
    rows, agents = a_batch()
    plan = write_plan("postgresql", rows, agents)
    tables = by_table(plan.statements)
    assert list(tables) == ["agents", "threads", "messages", "status_log"]
    expected = {
        "agents": values(agents, AGENT_COLUMNS),
        "threads": values(list(rows.threads.values()), THREAD_COLUMNS),
        "messages": values(rows.messages, MESSAGE_COLUMNS),
        "status_log": values(rows.status_log, STATUS_LOG_COLUMNS),
    }
    for table, table_rows in expected.items():
        [statement] = tables[table]
        _, columns, marks, _, _ = parsed(statement)
        assert marks == "(" + ", ".join(f"${n}" for n in range(1, len(columns) + 1)) + ")"
        assert "?" not in statement.sql
        assert [tuple(r) for r in statement.rows] == table_rows

    ids = list(range(41, 61))
    [events] = journal_inserts("postgresql", ids, plan.journal)
    _, columns, marks, key, _ = parsed(events)
    assert (columns, marks, key) == (("id", "at", "name", "data", "scope"), "($1, $2, $3, $4, $5)", None)
    assert [r[0] for r in events.rows] == ids


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_updates_and_deletes_put_the_key_last(dialect: str) -> None:
    """Closing threads written earlier, pins and decided requests are UPDATEs (one statement per
    shape of change, the key the last parameter); clients without an owner any more are
    one DELETE … IN, and the others an upsert."""
    closing = {"state": "closed", "closed_at": 99.5, "agent_id": 3}
    rows = Rows(
        thread_closes={7: closing, 8: {**closing, "agent_id": None}},
        pins={11: True, 12: False},
        requests_done={5: {"state": "cancelled", "decided_at": 98.0, "why": "gone"}},
        owners={"c1": (None, 1.0), "c2": (4, 2.0), "c3": (None, 3.0)},
    )
    plan = write_plan(dialect, rows, [])

    def mark(n: int) -> str:
        return f"${n}" if dialect == "postgresql" else "?"

    updates = [s for s in plan.statements if s.sql.startswith("UPDATE")]
    shapes = []
    for statement in updates:
        match = _UPDATE.match(statement.sql)
        assert match is not None, statement.sql
        table, sets, key, key_mark = match.groups()
        columns = [c.split(" = ")[0] for c in sets.split(", ")]
        assert sets == ", ".join(f"{c} = {mark(n)}" for n, c in enumerate(columns, 1))
        assert key_mark == mark(len(columns) + 1)
        shapes.append((table, tuple(columns), key, [tuple(r) for r in statement.rows]))
    assert shapes == [
        ("threads", ("state", "closed_at", "agent_id"), "id", [("closed", 99.5, 3, 7), ("closed", 99.5, None, 8)]),
        ("messages", ("pinned",), "id", [(True, 11), (False, 12)]),
        ("approval_requests", ("state", "decided_at", "why"), "id", [("cancelled", 98.0, "gone", 5)]),
    ]
    [delete] = [s for s in plan.statements if s.sql.startswith("DELETE")]
    assert delete.sql == f"DELETE FROM clients WHERE client_id IN ({mark(1)}, {mark(2)})"
    assert [tuple(r) for r in delete.rows] == [("c1", "c3")]
    [kept] = [s for s in plan.statements if s.sql.startswith("INSERT INTO clients")]
    assert parsed(kept)[3] == "client_id"
    assert list(itertools.chain.from_iterable(kept.rows)) == ["c2", 4, 2.0]


def test_the_sqlite_limit_is_within_what_the_linked_sqlite_accepts() -> None:
    """SQLITE_MAX_PARAMETERS assumes SQLite's compiled default; the library Python is linked
    with may be built with another limit, and must take at least as many."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        assert conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) >= wp.SQLITE_MAX_PARAMETERS


def test_activity_rows_are_added_into_their_days_sums_across_batches() -> None:
    """P2's daily sums: each batch upserts one row per (day, agent, condition ended, kind),
    adding to what earlier batches wrote; a row a hair before midnight stays in its day."""
    midnight = 20_834 * 86_400.0

    def row(at: float, prev_at: float | None, kind: str = "status", **extra: Any) -> dict[str, Any]:
        return {
            "agent_id": 7, "team": "t", "at": at, "kind": kind, "state": "active", "reason": None, "held": 0,
            "thread_id": None, "seconds": None, "prev_at": prev_at, "prev_state": "active", "prev_reason": None,
            "prev_held": 1,
        } | extra  # fmt: skip

    first = [
        row(midnight - 100, None, "registered", prev_state=None, prev_held=None),
        row(math.nextafter(midnight, 0.0), midnight - 100),
        row(midnight + 10, math.nextafter(midnight, 0.0)),
        row(midnight + 40, midnight + 10, "answered", seconds=30.0),
    ]
    second = [row(midnight + 50, midnight + 40), row(midnight + 70, midnight + 50, prev_held=0)]
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(str(CreateTable(schema.agent_activity_days).compile(dialect=sqlite_dialect())))
        for batch in (first, second):
            plan = write_plan("sqlite", Rows(activity=batch), [])
            days = [s for s in plan.statements if s.sql.startswith("INSERT INTO agent_activity_days")]
            assert len(days) == 1
            for params in days[0].rows:
                conn.execute(days[0].sql, params)
        got = conn.execute(f"SELECT {', '.join(wp.DAY_COLUMNS)} FROM agent_activity_days ORDER BY 1, 5").fetchall()
    before, after = midnight / 86_400 - 1, midnight / 86_400
    assert got == [
        (before, 7, "", "", "registered", 1, 0.0, 0.0, 0.0),
        (before, 7, "active", "", "status", 1, 0.0, pytest.approx(100.0), pytest.approx(100.0)),
        (after, 7, "active", "", "answered", 1, 30.0, 30.0, 30.0),
        (after, 7, "active", "", "status", 3, 0.0, pytest.approx(40.0), pytest.approx(20.0)),
    ]
