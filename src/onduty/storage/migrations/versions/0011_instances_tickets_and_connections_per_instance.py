"""the instances that share the database, stream tickets in the database, agents' connections per instance

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:10:00

Several instances behind one address: `instances` says which are alive (a heartbeat
judged by the database's clock) and where each answers the others (the owner's address,
for forwarded commands). `stream_tickets` keeps the event stream's single-use tickets
where every instance finds them: a page's ticket may be issued by one instance and its
stream opened on another. `agents.connected_on` names the instances an agent's streams
are open on (S8), so that an instance that dies takes only its own connections with it.
`command_log.at` is indexed: the log is pruned by age, and its recent idempotency keys read
back by age.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "stream_tickets",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_stream_tickets_user_id", "stream_tickets", ["user_id"])
    op.create_index("ix_stream_tickets_expires_at", "stream_tickets", ["expires_at"])
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connected_on", sa.JSON(), nullable=True))
    op.create_index("ix_command_log_at", "command_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_command_log_at", table_name="command_log")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("connected_on")
    op.drop_index("ix_stream_tickets_expires_at", table_name="stream_tickets")
    op.drop_index("ix_stream_tickets_user_id", table_name="stream_tickets")
    op.drop_table("stream_tickets")
    op.drop_table("instances")
