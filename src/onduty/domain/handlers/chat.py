"""Internal chat (C1): a message takes the next id; a read mark is recorded as given.

Messages are not kept in the engine's memory (storage keeps them); the engine numbers
them, so that the owner and every follower applying the command log agree on each id.
"""

from __future__ import annotations

from onduty.domain import chat
from onduty.domain import commands as c
from onduty.domain._state import Out
from onduty.domain.errors import DomainError
from onduty.domain.events import ChatMessageSent, ChatRead
from onduty.domain.types import Instant
from onduty.domain.workspace import Workspace


def send_message(ws: Workspace, cmd: c.SendChatMessage, now: Instant, out: Out) -> None:
    conversation = chat.parse(cmd.conversation_id)
    text = chat.text(cmd.text)
    message_id = ws.next_chat_id
    ws.next_chat_id += 1
    out.append(ChatMessageSent(now, message_id, conversation.id, cmd.sender_id, text, cmd.thread_id, cmd.sender_name))


def mark_read(ws: Workspace, cmd: c.MarkChatRead, now: Instant, out: Out) -> None:
    conversation = chat.parse(cmd.conversation_id)
    if isinstance(cmd.up_to, bool) or not isinstance(cmd.up_to, int) or not 0 < cmd.up_to < ws.next_chat_id:
        raise DomainError(f"up_to must be the id of a message (1 to {ws.next_chat_id - 1})", field="up_to")
    out.append(ChatRead(now, conversation.id, cmd.user_id, cmd.up_to))
