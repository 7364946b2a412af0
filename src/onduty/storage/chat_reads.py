"""Internal chat's reads (C1): a person's conversations with their unread counts and last
messages, a conversation's messages newest first, its members, and the threads that
messages point to that a reader may open. The writes are the service's commit
(projection.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from onduty.storage import schema as t
from onduty.storage.store import MAX_BIGINT, SqlStore, fits, visible_threads

_m = t.chat_messages.c
_r = t.chat_members.c


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    up_to: int  # the last message the person has read (0: none)
    unread: int
    last: Any | None  # the newest message's row


async def conversations(
    store: SqlStore, user_id: int, *, always: Sequence[str] = (), only: str | None = None
) -> list[ConversationRow]:
    """The conversations `user_id` is in (their rows in `chat_members`), and those in
    `always` (their team's room) even before they wrote or read there; or just `only`."""
    if not fits(user_id):
        return []
    query = select(_r.conversation_id, _r.up_to).where(_r.user_id == user_id)
    if only is not None:
        query = query.where(_r.conversation_id == only)
        always = (only,)
    marks = {r.conversation_id: r.up_to for r in await store.fetch(query)}
    without_row = [c for c in always if c not in marks]
    marks.update(dict.fromkeys(without_row, 0))
    if not marks:
        return []
    ids = sorted(marks)
    # One grouped count over the person's rows (each conversation a range of the
    # (conversation_id, id) index), and one for a conversation they have no row in yet.
    counted = (
        select(_m.conversation_id, func.count())
        .join(t.chat_members, and_(_r.conversation_id == _m.conversation_id, _r.user_id == user_id))
        .where(_m.id > _r.up_to, _m.sender_id != user_id, _m.conversation_id.in_(ids))
        .group_by(_m.conversation_id)
    )
    unread = {row[0]: row[1] for row in await store.fetch(counted)}
    for conversation_id in without_row:
        count = await store.fetch_one(
            select(func.count()).where(_m.conversation_id == conversation_id, _m.sender_id != user_id)
        )
        unread[conversation_id] = count[0] if count else 0
    newest = (
        select(func.max(_m.id).label("id")).where(_m.conversation_id.in_(ids)).group_by(_m.conversation_id).subquery()
    )
    last = {r.conversation_id: r for r in await store.fetch(select(t.chat_messages).join(newest, newest.c.id == _m.id))}
    return [ConversationRow(c, marks[c], unread.get(c, 0), last.get(c)) for c in ids]


async def messages(store: SqlStore, conversation_id: str, *, before: int | None, limit: int) -> Sequence[Any]:
    """The conversation's messages, newest first, below `before` when given."""
    query = select(t.chat_messages).where(_m.conversation_id == conversation_id)
    if before is not None:
        if not fits(before, MAX_BIGINT):
            return []
        query = query.where(_m.id < before)
    return await store.fetch(query.order_by(_m.id.desc()).limit(limit))


async def sent(store: SqlStore, conversation_id: str, sender_id: int, text: str) -> int:
    """The latest message of this sender with this very text here: the one a request sent
    again under its idempotency key had sent."""
    row = await store.fetch_one(
        select(func.max(_m.id)).where(_m.conversation_id == conversation_id, _m.sender_id == sender_id, _m.text == text)
    )
    if row is None or row[0] is None:
        raise LookupError("the message sent under this idempotency key is not kept")
    return int(row[0])


async def last_message_id(store: SqlStore, conversation_id: str) -> int | None:
    row = await store.fetch_one(select(func.max(_m.id)).where(_m.conversation_id == conversation_id))
    return row[0] if row else None


async def read_mark(store: SqlStore, conversation_id: str, user_id: int) -> int:
    row = await store.fetch_one(
        select(_r.up_to).where(and_(_r.conversation_id == conversation_id, _r.user_id == user_id))
    )
    return row.up_to if row else 0


async def members(store: SqlStore, conversation_id: str) -> list[int]:
    """Who has written or read here (or, in a direct conversation, been written to)."""
    rows = await store.fetch(select(_r.user_id).where(_r.conversation_id == conversation_id))
    return [r.user_id for r in rows]


async def threads(
    store: SqlStore, thread_ids: Sequence[int], *, agent_ids: list[int] | None, include_queue: bool
) -> dict[int, Any]:
    """Of these threads, those a reader who sees `agent_ids`' threads (anyone's: None), and
    the queue with `include_queue`, may open; by id."""
    wanted = sorted({i for i in thread_ids if fits(i, MAX_BIGINT)})
    if not wanted:
        return {}
    query = select(t.threads).where(t.threads.c.id.in_(wanted))
    rows = await store.fetch(visible_threads(query, agent_ids, include_queue))
    return {r.id: r for r in rows}
