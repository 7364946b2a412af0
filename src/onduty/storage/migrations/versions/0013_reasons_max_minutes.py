"""reasons carry a time limit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00

S10: a reason may carry `max_minutes`; an agent longer than that in it is overdue. Null
(every reason until an admin sets one) is no limit. Whether an agent is overdue is not
stored: it follows from their status, the limit and the clock (domain/restore.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reasons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reasons", schema=None) as batch_op:
        batch_op.drop_column("max_minutes")
