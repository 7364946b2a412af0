"""Threads: a client's message in, answers, close, transfer (R3), pins (R8)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import JSONBody

from onduty.domain import commands as c
from onduty.domain.types import ThreadState
from onduty.service import queries as q
from onduty.web import schemas as s
from onduty.web._routing_helpers import (
    BigId,
    api_delete,
    api_get,
    api_post,
    as_struct,
    check_id,
    query,
)
from onduty.web.context import Caller, Ctx, actor_of, require
from onduty.web.errors import forbidden, invalid, not_found
from onduty.web.schemas import MAX_BIG_ID, MAX_ID

_THREAD_STATES = {state.value for state in ThreadState}
PAGE_LIMIT = 500


async def _read(ctx: Ctx, caller: Caller, thread_id: int) -> s.Thread:
    agent_ids, with_queue = await ctx.node.read(q.thread_readers(caller))
    thread = await ctx.reads.thread(thread_id, agent_ids=agent_ids, include_queue=with_queue)
    if thread is None:
        raise not_found(f"no thread with id {thread_id}", "thread_id")
    return as_struct(thread, s.Thread)


def _acts_on(caller: Caller, thread_id: int) -> q.Query[None]:
    """The check of a command on a thread; only agents, supervisors and admins act on them."""
    require(caller, "agent", "supervisor", "admin")
    return q.may_act_on_thread(caller, thread_id)


@api_post("/threads", summary="A client's message: opens a thread or adds to the open one", tags=["threads"])
async def client_message(caller: Caller, ctx: Ctx, data: JSONBody[s.ClientMessageRequest]) -> s.Thread:
    require(caller, "integration", "admin")
    command = c.ReceiveClientMessage(data.client_id, data.text, data.priority)
    outcome = await ctx.node.execute(command, answer=q.client_thread(command))
    thread_id = outcome.answer
    if outcome.repeated:  # sent again under its key: the thread its message went to, even if closed since
        thread_id = await ctx.reads.client_message_thread(command)
    if thread_id is None:
        raise not_found("the message sent under this Idempotency-Key is in no thread", "client_id")
    return await _read(ctx, caller, thread_id)


@api_get("/threads", summary="Threads the caller may see, newest id last", tags=["threads"])
async def list_threads(
    caller: Caller,
    ctx: Ctx,
    state_filter: Annotated[str | None, query("state", enum=sorted(_THREAD_STATES))] = None,
    agent_id: Annotated[int | None, query(minimum=1, maximum=MAX_ID)] = None,
    after: Annotated[int, query(description="The last id of the page before", minimum=0, maximum=MAX_BIG_ID)] = 0,
    limit: Annotated[int, query(minimum=1, maximum=PAGE_LIMIT)] = 100,
) -> s.ThreadPage:
    if state_filter is not None and state_filter not in _THREAD_STATES:
        raise invalid(f"state must be one of {', '.join(sorted(_THREAD_STATES))}", "state")
    if not 1 <= limit <= PAGE_LIMIT:
        raise invalid(f"limit must be from 1 to {PAGE_LIMIT}", "limit")
    check_id(agent_id, "agent_id")
    check_id(after, "after", low=0, high=MAX_BIG_ID)
    agent_ids, with_queue = await ctx.node.read(q.thread_readers(caller))
    if agent_id is not None:
        if agent_ids is not None and agent_id not in agent_ids:
            raise forbidden("you may not read that agent's threads", "agent_id")
        agent_ids, with_queue = [agent_id], False
    page = await ctx.reads.threads(
        state=state_filter, agent_ids=agent_ids, include_queue=with_queue, after=after, limit=limit
    )
    return as_struct({"items": page.items, "next": page.next}, s.ThreadPage)


@api_get("/threads/{thread_id:int}", summary="One thread with its messages", tags=["threads"])
async def get_thread(caller: Caller, ctx: Ctx, thread_id: BigId) -> s.Thread:
    return await _read(ctx, caller, thread_id)


@api_post("/threads/{thread_id:int}/messages", summary="The holder's answer", tags=["threads"])
async def answer(caller: Caller, ctx: Ctx, thread_id: BigId, data: JSONBody[s.AnswerRequest]) -> s.Thread:
    require(caller, "agent")
    await ctx.node.execute(c.Answer(thread_id, caller.id, data.text), check=_acts_on(caller, thread_id))
    return await _read_after_acting(ctx, thread_id)


@api_post("/threads/{thread_id:int}/close", status_code=200, summary="Close", tags=["threads"])
async def close(caller: Caller, ctx: Ctx, thread_id: BigId) -> s.Thread:
    require(caller, "agent", "supervisor")  # API.md: the holding agent, supervisor
    await ctx.node.execute(c.CloseThread(thread_id, actor_of(caller)), check=_acts_on(caller, thread_id))
    return await _read_after_acting(ctx, thread_id)


@api_post("/threads/{thread_id:int}/transfer", status_code=200, summary="Transfer to any agent (R3)", tags=["threads"])
async def transfer(caller: Caller, ctx: Ctx, thread_id: BigId, data: JSONBody[s.TransferRequest]) -> s.Thread:
    require(caller, "agent", "supervisor")  # API.md: agent, supervisor
    check = q.may_transfer(caller, thread_id, data.agent_id)
    if not await ctx.node.read(q.is_agent(data.agent_id)):
        # The thread's refusal first, as for every thread command: then the target's. Only
        # here: a request sent again under its key must reach the command, which knows the
        # key (a holder's retried transfer would otherwise be refused: they hold it no more).
        await ctx.node.read(check)
        user = await ctx.accounts.by_id(data.agent_id)
        if user is None or user.role != "agent":  # the same answer either way: no hint of who exists
            raise q.no_agent(data.agent_id)
        await ctx.node.ensure_agent(user.id, username=user.username, name=user.name, team=user.team)
    await ctx.node.execute(c.Transfer(thread_id, data.agent_id, actor_of(caller)), check=check)
    return await _read_after_acting(ctx, thread_id)


async def _read_after_acting(ctx: Ctx, thread_id: int) -> s.Thread:
    """The thread a caller's command was applied to (the check let them act on it), read
    after the commit: by then it may be another's (their own close or transfer, or a
    supervisor's transfer committed in the same batch), and they still see the result. A
    command applied before under the request's key was applied for the same credential."""
    return as_struct(await ctx.reads.thread(thread_id), s.Thread)


async def _pin(caller: Caller, ctx: Ctx, thread_id: int, message_id: int, pinned: bool) -> s.Thread:
    require(caller, "agent")
    # R8: the engine checks the message is this thread's; the messages table says whose it is.
    message_thread_id = await ctx.reads.message_thread(message_id)
    await ctx.node.execute(
        c.PinMessage(thread_id, message_id, caller.id, pinned, message_thread_id), check=_acts_on(caller, thread_id)
    )
    return await _read_after_acting(ctx, thread_id)


@api_post(
    "/threads/{thread_id:int}/messages/{message_id:int}/pin", status_code=200, summary="Pin (R8)", tags=["threads"]
)
async def pin(caller: Caller, ctx: Ctx, thread_id: BigId, message_id: BigId) -> s.Thread:
    return await _pin(caller, ctx, thread_id, message_id, True)


@api_delete(
    "/threads/{thread_id:int}/messages/{message_id:int}/pin", status_code=200, summary="Unpin (R8)", tags=["threads"]
)
async def unpin(caller: Caller, ctx: Ctx, thread_id: BigId, message_id: BigId) -> s.Thread:
    return await _pin(caller, ctx, thread_id, message_id, False)


ROUTES = [client_message, list_threads, get_thread, answer, close, transfer, pin, unpin]
