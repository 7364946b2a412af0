"""client owners read from their index alone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:50:00

At start the service reads every client owner of the affinity window in
`owned_since` order (R4). With `owned_since` alone in the index, each of those
rows (300,000 in the restart bench) was then looked up in the table; an index
that also holds the client and the agent answers the read by itself, in less
than half the time (docs/performance.md, restart).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index("ix_clients_owned", ["owned_since", "client_id", "owner_agent_id"], unique=False)
        batch_op.drop_index("ix_clients_owned_since")


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index("ix_clients_owned_since", ["owned_since"], unique=False)
        batch_op.drop_index("ix_clients_owned")
