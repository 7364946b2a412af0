"""Filling a bench's database fast: rows through the driver's own executemany.

The restart and report benches write millions of rows before they measure
anything. Through SQLAlchemy's `insert()` each row's parameters are processed
one by one in Python, which cost more than the database's own work; the
driver takes plain tuples. Placeholders and JSON text as the service's own
commits write them (storage/write_plan.py).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from onduty.storage._write_plan import json_text, placeholders


async def insert_rows(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, named as the table's columns) into `table`."""
    if not rows:
        return
    columns = list(rows[0])
    as_json = [isinstance(table.c[name].type, JSON) for name in columns]
    marks = ", ".join(placeholders(conn.dialect.name, len(columns)))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    if any(as_json):
        values = [
            tuple(json_text(row[n]) if is_json else row[n] for n, is_json in zip(columns, as_json, strict=True))
            for row in rows
        ]
    else:  # the common case, in C: a tuple of the columns' values (two or more columns)
        pick = itemgetter(*columns)
        values = [pick(row) for row in rows] if len(columns) > 1 else [(row[columns[0]],) for row in rows]
    await conn.exec_driver_sql(sql, values)
