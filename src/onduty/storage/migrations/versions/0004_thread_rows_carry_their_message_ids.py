"""thread rows carry their message ids and pins

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:00:00

`threads.message_ids` and `threads.pinned_ids` (storage/id_lists.py): an open
thread's message ids and pins in its own row, so the start reads one row a
thread instead of one a message. Filled here for the threads open now; closed
threads keep them empty, as the projection leaves them when a thread closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from onduty.storage import _id_lists as id_lists

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = ("queued", "assigned", "in_progress")
_CHUNK = 10_000


def upgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_ids", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("pinned_ids", sa.Text(), server_default="", nullable=False))
    _fill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("pinned_ids")
        batch_op.drop_column("message_ids")


def _fill(conn: sa.Connection) -> None:
    threads = sa.table(
        "threads", sa.column("id"), sa.column("state"), sa.column("message_ids"), sa.column("pinned_ids")
    )
    messages = sa.table("messages", sa.column("id"), sa.column("thread_id"), sa.column("pinned"))
    open_ids = sa.select(threads.c.id).where(threads.c.state.in_(_OPEN))
    rows = conn.execute(
        sa.select(messages.c.thread_id, messages.c.id, messages.c.pinned)
        .where(messages.c.thread_id.in_(open_ids))
        .order_by(messages.c.thread_id, messages.c.id)
    )
    lists: dict[int, tuple[list[int], list[int]]] = {}
    for thread_id, message_id, pinned in rows:
        ids, pins = lists.setdefault(thread_id, ([], []))
        ids.append(message_id)
        if pinned:
            pins.append(message_id)
    update = (
        threads.update()
        .where(threads.c.id == sa.bindparam("thread_id"))
        .values(message_ids=sa.bindparam("ids"), pinned_ids=sa.bindparam("pins"))
    )
    values: list[dict[str, Any]] = [
        {"thread_id": thread_id, "ids": id_lists.encode(ids), "pins": id_lists.encode(pins)}
        for thread_id, (ids, pins) in lists.items()
    ]
    for start in range(0, len(values), _CHUNK):
        conn.execute(update, values[start : start + _CHUNK])
