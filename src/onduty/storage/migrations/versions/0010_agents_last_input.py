"""agents carry their pages' last input (S8 idle_timeout)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:40:00

A follower rebuilds its engine from the database while the owner runs, with the agents'
streams still open: their idle deadlines count from their pages' last input, which only
the owner's memory held. Kept in the agent's row, a follower's copy starts with the
owner's deadlines. (A restarted owner still drops every stream at start: nothing changes
for it.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_input", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("last_input")
