"""the workspace's lease (one fenced owner) and the command log (what followers apply)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:05:00

Several instances share one database. `workspace_lease` says which instance owns the
workspace (applies its commands) until when, and its `epoch`, which grows at every
takeover: every commit of the owner checks it in the same transaction, so an owner that
was superseded can never write again. `command_log` holds each committed batch as the
owner applied it (its `now`, whether timers were ticked, the commands in order), written
in the batch's own transaction, so that followers apply exactly what was committed,
through the same engine, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "workspace_lease",
        sa.Column("workspace", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "command_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("tick", sa.Boolean(), nullable=False),
        sa.Column("commands", sa.JSON(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("command_log")
    op.drop_table("workspace_lease")
