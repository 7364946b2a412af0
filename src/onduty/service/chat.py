"""Internal chat (C1) for the routes: who may be where, the commands, and the reads in the
API's shapes.

A message is a command like any other (one writer numbers it and journals `chat.message`
in the commit that keeps it), so it reaches every page over the event stream, resumes
with `after=` and travels between instances as every event does. Who belongs to a
conversation follows from its id and the person (domain/chat.py); the rest is read from
the database, here, on whichever instance the request came to.

A message may point to a thread (a consultation). Each reader sees that thread only if they
may open it by the thread rules (as `GET /threads/{id}` answers them); for anyone else the
pointer says only that there is one (`{"visible": false}`). The live `chat.message` says
no more than that either (`about_thread`): the page reads the message to show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onduty.domain import chat
from onduty.domain import commands as c
from onduty.domain.errors import DomainError, Forbidden, NotFound
from onduty.service import queries as q
from onduty.service.accounts import Accounts, User
from onduty.service.node import Node
from onduty.storage import chat_reads
from onduty.storage.store import SqlStore
from onduty.timefmt import iso


class Chat:
    def __init__(self, node: Node, store: SqlStore, accounts: Accounts) -> None:
        self._node = node
        self._store = store
        self._accounts = accounts

    # -- who may be where --------------------------------------------------------------------

    async def conversation(self, user: User, conversation_id: str) -> chat.Conversation:
        """The conversation this id names, if `user` is in it: 404 for an id that names none (or
        a direct one with someone who does not chat), 403 for someone else's."""
        _chats(user)
        conversation = chat.parse(conversation_id)
        if not chat.is_member(conversation, user.id, user.role, user.team):
            raise Forbidden(f"you are not in the conversation {conversation_id}", field="conversation_id")
        if isinstance(conversation, chat.Direct):
            await self._person(conversation.other(user.id), "conversation_id")
        return conversation

    async def direct_with(self, user: User, to_user_id: int) -> chat.Direct:
        _chats(user)
        conversation = chat.direct(user.id, to_user_id)
        await self._person(to_user_id, "to_user_id")
        return conversation

    async def _person(self, user_id: int, field: str) -> User:
        person = (await self._accounts.by_ids([user_id])).get(user_id)
        if person is None or not person.active or person.role not in chat.CHAT_ROLES:
            raise NotFound(f"no person with id {user_id} to write to", field=field)
        return person

    # -- writes ---------------------------------------------------------------------------------

    async def send(
        self, user: User, conversation: chat.Conversation, text: str, thread_id: int | None
    ) -> dict[str, Any]:
        """The message, once kept; 404 (`thread_id`) for a thread the sender may not open."""
        if thread_id is not None and not await self._may_open(user, [thread_id]):
            raise NotFound(f"no thread with id {thread_id} that you may open", field="thread_id")
        name = user.name or user.username
        command = c.SendChatMessage(conversation.id, user.id, text, thread_id, sender_name=name)
        outcome = await self._node.execute(command, answer=lambda ws: ws.next_chat_id - 1)
        message_id = outcome.answer
        if outcome.repeated:  # sent before under this Idempotency-Key: that message
            message_id = await chat_reads.sent(self._store, conversation.id, user.id, chat.text(text))
        rows = await chat_reads.messages(self._store, conversation.id, before=message_id + 1, limit=1)
        return (await self._message_views(user, rows))[0]

    async def mark_read(self, user: User, conversation: chat.Conversation, up_to: int) -> dict[str, Any]:
        """Read up to message `up_to` of this conversation; a mark never moves back (an older
        one changes nothing). Answers the conversation's read mark and unread count."""
        last = await chat_reads.last_message_id(self._store, conversation.id)
        if last is None:
            raise DomainError("this conversation has no message yet", field="up_to")
        if up_to > last:
            raise DomainError(f"up_to is beyond the conversation's last message ({last})", field="up_to")
        if up_to > await chat_reads.read_mark(self._store, conversation.id, user.id):
            await self._node.execute(c.MarkChatRead(conversation.id, user.id, up_to))
        return await self.read_state(user, conversation)

    # -- reads ----------------------------------------------------------------------------------

    async def read_state(self, user: User, conversation: chat.Conversation) -> dict[str, Any]:
        rows = await chat_reads.conversations(self._store, user.id, only=conversation.id)
        row = rows[0]
        return {"conversation_id": conversation.id, "up_to": row.up_to, "unread": row.unread}

    async def conversations(self, user: User) -> list[dict[str, Any]]:
        """The person's conversations, the latest message first (their team's room always
        among them), each with its people, presence included, and unread count."""
        _chats(user)
        own_room = [chat.Room(user.team).id] if user.team is not None and user.role in chat.ROOM_ROLES else []
        rows = await chat_reads.conversations(self._store, user.id, always=own_room)
        parsed = [(row, chat.parse(row.id)) for row in rows]
        directs = {conv.other(user.id) for _, conv in parsed if isinstance(conv, chat.Direct)}
        rooms: dict[str, list[User]] = {}
        for _, conv in parsed:
            if isinstance(conv, chat.Room) and conv.team not in rooms:
                rooms[conv.team] = await self._room_people(conv)
        known = await self._accounts.by_ids(directs | {user.id})
        everyone = list(known.values()) + [p for people in rooms.values() for p in people]
        views = await self._people_views(everyone)
        lasts = {view["id"]: view for view in await self._message_views(user, [r.last for r, _ in parsed if r.last])}
        out = []
        for row, conv in parsed:
            if isinstance(conv, chat.Direct):
                other = conv.other(user.id)
                if other not in known or not known[other].active:
                    continue  # a person who left: their conversation goes with them
                members = [views[user.id], views[other]]
                title, team = views[other]["name"], None
            else:
                members = [views[p.id] for p in rooms[conv.team]]
                title, team = conv.team, conv.team
            last = None if row.last is None else lasts[row.last.id]
            out.append(
                {
                    "id": conv.id,
                    "kind": "direct" if isinstance(conv, chat.Direct) else "team",
                    "title": title,
                    "team": team,
                    "members": members,
                    "unread": row.unread,
                    "up_to": row.up_to,
                    "last_message": last,
                }
            )
        out.sort(key=lambda view: -(view["last_message"] or {"id": 0})["id"])
        return out

    async def messages(
        self, user: User, conversation: chat.Conversation, *, before: int | None, limit: int
    ) -> dict[str, Any]:
        """A page of the conversation's messages, newest first; `next` is the `before` of the
        page after it, while there may be one."""
        rows = await chat_reads.messages(self._store, conversation.id, before=before, limit=limit)
        items = await self._message_views(user, rows)
        return {"items": items, "next": rows[-1].id if len(rows) == limit else None}

    async def people(self, user: User, *, search: str | None, limit: int) -> list[dict[str, Any]]:
        """People to write to (W4's presence with each), by name."""
        _chats(user)
        found = await self._accounts.people(search=search, limit=limit + 1)
        views = await self._people_views([p for p in found if p.id != user.id])
        return list(views.values())[:limit]

    async def _room_people(self, room: chat.Room) -> list[User]:
        """A room's people: its team's agents and supervisors, and the admins who joined it."""
        people = await self._accounts.people(team=room.team, limit=10_000)
        joined = await chat_reads.members(self._store, room.id)
        admins = await self._accounts.by_ids(joined)
        return [p for p in people if p.role in chat.ROOM_ROLES] + [
            a for a in admins.values() if a.active and a.role == "admin"
        ]

    async def _people_views(self, people: Sequence[User]) -> dict[int, dict[str, Any]]:
        """Each person with W4's presence and status label when they are an agent (people in
        other roles have no status: their role stands in its place)."""
        agent_ids = [p.id for p in people if p.role == "agent"]
        live = {v["agent_id"]: v for v in await self._node.read(q.presence(agent_ids))} if agent_ids else {}
        views: dict[int, dict[str, Any]] = {}
        for person in people:
            seen = live.get(person.id)
            views[person.id] = {
                "user_id": person.id,
                "name": person.name or person.username,
                "role": person.role,
                "team": person.team,
                "presence": seen["presence"] if seen else None,
                "status": seen["status"] if seen else None,
            }
        return views

    async def _names(self, user_ids: Sequence[int]) -> dict[int, str]:
        return {i: p.name or p.username for i, p in (await self._accounts.by_ids(user_ids)).items()}

    async def _message_views(self, user: User, rows: Sequence[Any]) -> list[dict[str, Any]]:
        pointed = [r.thread_id for r in rows if r.thread_id is not None]
        threads = await self._may_open(user, pointed) if pointed else {}
        senders = await self._names([r.sender_id for r in rows])
        return [_message_view(row, senders, threads) for row in rows]

    async def _may_open(self, user: User, thread_ids: Sequence[int]) -> dict[int, Any]:
        """Of these threads, those `user` may open (`GET /threads/{id}`'s rule), by id."""
        agent_ids, include_queue = await self._node.read(q.thread_readers(user))
        return await chat_reads.threads(self._store, thread_ids, agent_ids=agent_ids, include_queue=include_queue)


def _chats(user: User) -> None:
    if user.role not in chat.CHAT_ROLES:
        raise Forbidden("the chat is for people: agents, supervisors and admins", field="role")


def _message_view(row: Any, senders: dict[int, str], threads: dict[int, Any]) -> dict[str, Any]:
    thread: dict[str, Any] | None = None
    if row.thread_id is not None:
        seen = threads.get(row.thread_id)
        thread = (
            {
                "visible": True,
                "id": seen.id,
                "client_id": seen.client_id,
                "state": seen.state,
                "agent_id": seen.agent_id,
            }
            if seen is not None
            else {"visible": False}
        )
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "sender_id": row.sender_id,
        "sender_name": senders.get(row.sender_id, ""),
        "text": row.text,
        "at": iso(row.at),
        "thread": thread,
    }
