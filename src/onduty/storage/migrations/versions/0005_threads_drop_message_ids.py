"""threads drop message_ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00

The engine no longer holds each open thread's message ids: they were there only
to check that a pinned message is the thread's own (R8), which the messages
table now answers when the pin is asked for (docs/rules.md, R8). A start then
reads no message lists at all (docs/performance.md, restart). `pinned_ids`
stays: the engine counts each agent's pins (W1) from it.

The downgrade puts the column back, filled from the messages table for the
threads open then, as 0004 filled it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from onduty.storage import _id_lists as id_lists

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = ("queued", "assigned", "in_progress")
_CHUNK = 10_000


def upgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("message_ids")


def downgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_ids", sa.Text(), server_default="", nullable=False))
    conn = op.get_bind()
    threads = sa.table("threads", sa.column("id"), sa.column("state"), sa.column("message_ids"))
    messages = sa.table("messages", sa.column("id"), sa.column("thread_id"))
    open_ids = sa.select(threads.c.id).where(threads.c.state.in_(_OPEN))
    lists: dict[int, list[int]] = {}
    query = sa.select(messages.c.thread_id, messages.c.id).where(messages.c.thread_id.in_(open_ids))
    for thread_id, message_id in conn.execute(query.order_by(messages.c.thread_id, messages.c.id)):
        lists.setdefault(thread_id, []).append(message_id)
    update = threads.update().where(threads.c.id == sa.bindparam("thread_id")).values(message_ids=sa.bindparam("ids"))
    values = [{"thread_id": thread_id, "ids": id_lists.encode(ids)} for thread_id, ids in lists.items()]
    for start in range(0, len(values), _CHUNK):
        conn.execute(update, values[start : start + _CHUNK])
