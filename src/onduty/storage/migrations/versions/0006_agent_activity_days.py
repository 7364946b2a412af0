"""agent activity summed per day

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 23:00:00

The workload report read every activity row of its period: over a month of a
large team, two million rows, 6 s on SQLite against a goal of 5 s. The writer
now also adds each row into its agent's sums for the row's UTC day, and the
report reads those for the days wholly inside its period
(docs/performance.md, reports).

The upgrade sums the rows already written, as the writer would have: a row
belongs to day d when d * 86400 <= at < (d + 1) * 86400, compared exactly (the
division's rounding is corrected for), and a span is whole: at - prev_at.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUMS = """
INSERT INTO agent_activity_days (day, agent_id, prev_state, prev_reason, kind, n, answer_seconds, span, holding)
SELECT day, agent_id, prev_state, prev_reason, kind,
       COUNT(*), COALESCE(SUM(seconds), 0), COALESCE(SUM(at - prev_at), 0),
       COALESCE(SUM(CASE WHEN prev_held > 0 THEN at - prev_at ELSE 0 END), 0)
FROM (
    SELECT agent_id, COALESCE(prev_state, '') AS prev_state, COALESCE(prev_reason, '') AS prev_reason,
           kind, seconds, at, prev_at, prev_held,
           CASE WHEN at < d * 86400.0 THEN d - 1 WHEN at >= (d + 1) * 86400.0 THEN d + 1 ELSE d END AS day
    FROM (SELECT a.*, {day} AS d FROM agent_activity a) AS rows_with_day
) AS rows_by_day
GROUP BY day, agent_id, prev_state, prev_reason, kind
"""


def upgrade() -> None:
    op.create_table(
        "agent_activity_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("prev_state", sa.String(length=30), nullable=False),
        sa.Column("prev_reason", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("answer_seconds", sa.Float(), nullable=False),
        sa.Column("span", sa.Float(), nullable=False),
        sa.Column("holding", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "agent_id", "prev_state", "prev_reason", "kind", name=op.f("pk_agent_activity_days")
        ),
    )
    conn = op.get_bind()
    # The day before correction: SQLite's CAST truncates (the times are positive), PostgreSQL's rounds.
    postgresql = conn.dialect.name == "postgresql"
    day = "CAST(floor(a.at / 86400) AS INTEGER)" if postgresql else "CAST(a.at / 86400 AS INTEGER)"
    conn.execute(sa.text(_SUMS.format(day=day)))


def downgrade() -> None:
    op.drop_table("agent_activity_days")
