"""Internal chat (C1): conversations, their messages, writing and read marks."""

from __future__ import annotations

from typing import Annotated

from litestar.params import JSONBody, PathParameter

from onduty.domain.chat import MAX_CONVERSATION_ID, Conversation
from onduty.web import schemas as s
from onduty.web._routing_helpers import api_get, api_post, as_struct, check_id, query
from onduty.web.context import Caller, Ctx
from onduty.web.errors import invalid
from onduty.web.schemas import MAX_BIG_ID, NO_NUL

PAGE_LIMIT = 100
PEOPLE_LIMIT = 50
ConversationPath = Annotated[str, PathParameter(schema_extra={"maxLength": MAX_CONVERSATION_ID})]


@api_get("/chat/conversations", summary="The caller's conversations, latest first (C1)", tags=["chat"])
async def conversations(caller: Caller, ctx: Ctx) -> list[s.ChatConversation]:
    return as_struct(await ctx.chat.conversations(caller), list[s.ChatConversation])


@api_get(
    "/chat/conversations/{conversation_id:str}/messages",
    summary="A conversation's messages, newest first",
    tags=["chat"],
)
async def messages(
    caller: Caller,
    ctx: Ctx,
    conversation_id: ConversationPath,
    before: Annotated[
        int | None, query(description="The `next` of the page before", minimum=1, maximum=MAX_BIG_ID)
    ] = None,
    limit: Annotated[int, query(minimum=1, maximum=PAGE_LIMIT)] = 50,
) -> s.ChatMessagePage:
    check_id(before, "before", high=MAX_BIG_ID)
    if not 1 <= limit <= PAGE_LIMIT:
        raise invalid(f"limit must be from 1 to {PAGE_LIMIT}", "limit")
    conversation = await ctx.chat.conversation(caller, conversation_id)
    page = await ctx.chat.messages(caller, conversation, before=before, limit=limit)
    return as_struct(page, s.ChatMessagePage)


@api_post("/chat/messages", summary="Write to a conversation or to a person (C1)", tags=["chat"])
async def send(caller: Caller, ctx: Ctx, data: JSONBody[s.ChatMessageRequest]) -> s.ChatMessage:
    if (data.conversation_id is None) == (data.to_user_id is None):
        raise invalid("give conversation_id or to_user_id, one of the two", "conversation_id")
    conversation: Conversation
    if data.to_user_id is not None:
        conversation = await ctx.chat.direct_with(caller, data.to_user_id)
    else:
        assert data.conversation_id is not None
        conversation = await ctx.chat.conversation(caller, data.conversation_id)
    return as_struct(await ctx.chat.send(caller, conversation, data.text, data.thread_id), s.ChatMessage)


@api_post(
    "/chat/conversations/{conversation_id:str}/read",
    status_code=200,
    summary="Mark a conversation read up to a message",
    tags=["chat"],
)
async def mark_read(
    caller: Caller, ctx: Ctx, conversation_id: ConversationPath, data: JSONBody[s.ChatReadRequest]
) -> s.ChatReadState:
    conversation = await ctx.chat.conversation(caller, conversation_id)
    return as_struct(await ctx.chat.mark_read(caller, conversation, data.up_to), s.ChatReadState)


@api_get("/chat/people", summary="People to write to, with their presence (W4)", tags=["chat"])
async def people(
    caller: Caller,
    ctx: Ctx,
    search: Annotated[str | None, query(description="Part of a name or username", maxLength=80, pattern=NO_NUL)] = None,
    limit: Annotated[int, query(minimum=1, maximum=PEOPLE_LIMIT)] = 20,
) -> list[s.ChatPerson]:
    if not 1 <= limit <= PEOPLE_LIMIT:
        raise invalid(f"limit must be from 1 to {PEOPLE_LIMIT}", "limit")
    if search is not None and (len(search) > 80 or "\x00" in search):
        raise invalid("search must be at most 80 characters, without NUL", "search")
    found = await ctx.chat.people(caller, search=search.strip() if search else None, limit=limit)
    return as_struct(found, list[s.ChatPerson])


ROUTES = [conversations, messages, send, mark_read, people]
