"""usernames normalised, and no two that look alike

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 15:00:00

Stores every username in its normalised form (onduty/usernames.py: NFKC, case-folded,
trimmed) and its UTS #39 skeleton in a unique column. Users whose usernames would become
the same, or look alike, or are no usable username at all, cannot be resolved by a
program without choosing who loses their name: the migration then changes nothing and
refuses, naming them, so that the operator renames or removes one of each and runs it
again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from onduty.storage.migrate import MigrationRefused
from onduty.usernames import UsernameError, normalise, skeleton

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _who(user_id: int, username: str) -> str:
    return f"user {user_id} {username!a}"


def plan(users: Sequence[tuple[int, str]]) -> tuple[list[tuple[int, str, str]], list[str]]:
    """(id, username, skeleton) to store for each user, and what stands in the way."""
    rows: list[tuple[int, str, str]] = []
    problems: list[str] = []
    first_by_name: dict[str, tuple[int, str]] = {}
    first_by_skeleton: dict[str, tuple[int, str]] = {}
    for user_id, username in users:
        try:
            name = normalise(username)
        except UsernameError as error:
            problems.append(f"{_who(user_id, username)}: {error}")
            continue
        shape = skeleton(name)
        if name in first_by_name:
            problems.append(f"{_who(user_id, username)} and {_who(*first_by_name[name])} are both {name!a}")
        elif shape in first_by_skeleton:
            problems.append(f"{_who(user_id, username)} looks like {_who(*first_by_skeleton[shape])}")
        first_by_name.setdefault(name, (user_id, username))
        first_by_skeleton.setdefault(shape, (user_id, username))
        rows.append((user_id, name, shape))
    return rows, problems


def upgrade() -> None:
    conn = op.get_bind()
    users = [(int(r.id), str(r.username)) for r in conn.execute(sa.text("SELECT id, username FROM users ORDER BY id"))]
    rows, problems = plan(users)
    if problems:  # checked before anything changes
        raise MigrationRefused(
            "usernames must be unique once normalised and must not look alike (docs/rules.md, Usernames): "
            + "; ".join(problems)
            + ". Rename or remove one of each (UPDATE users SET username = '...' WHERE id = ...), then migrate again"
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_skeleton", sa.Text(), nullable=True))
    for user_id, name, shape in rows:
        conn.execute(
            sa.text("UPDATE users SET username = :name, username_skeleton = :shape WHERE id = :id"),
            {"name": name, "shape": shape, "id": user_id},
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("username_skeleton", existing_type=sa.Text(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_username_skeleton"), ["username_skeleton"])


def downgrade() -> None:
    """The usernames stay normalised: they were valid before too."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_username_skeleton"), type_="unique")
        batch_op.drop_column("username_skeleton")
