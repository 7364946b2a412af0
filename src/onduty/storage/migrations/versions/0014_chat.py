"""internal chat: messages and members

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 10:00:00

C1. A conversation is named by its id (domain/chat.py), so there is no conversations
table: `chat_messages` holds the messages (numbered by the engine), `chat_members` who is
in which conversation and how far they have read.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("id", _ID, autoincrement=False, nullable=False),
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("thread_id", _ID, nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index("ix_chat_messages_conversation_id_id", "chat_messages", ["conversation_id", "id"])
    op.create_table(
        "chat_members",
        sa.Column("conversation_id", sa.String(160), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("up_to", _ID, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_chat_members")),
    )
    op.create_index("ix_chat_members_user_id", "chat_members", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_members_user_id", table_name="chat_members")
    op.drop_table("chat_members")
    op.drop_index("ix_chat_messages_conversation_id_id", table_name="chat_messages")
    op.drop_table("chat_messages")
