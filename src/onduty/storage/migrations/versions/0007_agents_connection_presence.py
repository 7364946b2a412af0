"""agents carry their connection presence (S8)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:30:00

What the engine keeps of an agent's connections so that a restart neither forgets a
disconnect grace under way nor the status to give back on return: whether they were
connected, whether they connected since their login, when their last stream closed,
and the status the system moved them out of (and when).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connected", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("stream_seen", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("disconnected_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("away_from_state", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("away_from_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("away_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        for name in ("away_at", "away_from_reason", "away_from_state", "disconnected_at", "stream_seen", "connected"):
            batch_op.drop_column(name)
