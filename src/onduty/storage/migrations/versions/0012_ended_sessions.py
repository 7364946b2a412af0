"""ended sessions, for every instance to follow

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00

Each instance keeps the tokens it has seen in memory for a while. A sign-out (a token
revoked) and a change to a user that their cached tokens carry (their team) are written
to `ended_sessions` in the same transaction, and every instance reads the rows that are
new to it each second: the token stops working everywhere, and every instance closes the
event streams of that session.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ended_sessions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ended_sessions_at", "ended_sessions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ended_sessions_at", table_name="ended_sessions")
    op.drop_table("ended_sessions")
