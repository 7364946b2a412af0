"""Threads: a client's message, answers, close, transfer (R3), pins (R8)."""

from __future__ import annotations

from onduty.domain import commands as c
from onduty.domain import validate
from onduty.domain._routing import AFFINITY
from onduty.domain._state import Out
from onduty.domain.errors import Conflict, Forbidden, NotFound
from onduty.domain.events import (
    MessageAdded,
    MessagePinned,
    ThreadAnswered,
    ThreadClosed,
    ThreadCreated,
    ThreadTransferred,
)
from onduty.domain.model import Thread
from onduty.domain.statuses import TAKES_OWN_CLIENTS
from onduty.domain.types import Actor, Instant, ThreadState
from onduty.domain.workspace import Workspace


def receive_client_message(ws: Workspace, cmd: c.ReceiveClientMessage, now: Instant, out: Out) -> None:
    client_id, text, priority = validate.client_message(cmd)
    open_id = ws.open_by_client.get(client_id)
    if open_id is not None:
        _add_message(ws, ws.threads[open_id], "client", None, text, now, out)
        return
    thread = Thread(ws.next_thread_id, client_id, now, priority)
    ws.next_thread_id += 1
    ws.threads[thread.id] = thread
    ws.open_by_client[client_id] = thread.id

    settings = ws.settings
    owner_id = ws.affinity.owner(client_id, now, settings.client_affinity_timeout)
    owner = ws.agents.get(owner_id) if owner_id is not None else None
    if owner is not None and owner.state in TAKES_OWN_CLIENTS and ws.has_room(owner):
        out.append(ThreadCreated(now, thread.id, client_id, priority, None))
        _add_message(ws, thread, "client", None, text, now, out)
        ws.assign(thread, owner, AFFINITY, now, out)  # R4: straight to their own agent
    elif owner is not None and settings.affinity_wait > 0:
        ws.reserve(thread, owner, now)  # R4: wait for them a while
        out.append(ThreadCreated(now, thread.id, client_id, priority, owner.id))
        _add_message(ws, thread, "client", None, text, now, out)
    else:
        out.append(ThreadCreated(now, thread.id, client_id, priority, None))
        _add_message(ws, thread, "client", None, text, now, out)
        ws.enqueue(thread, now, out)  # R1


def answer(ws: Workspace, cmd: c.Answer, now: Instant, out: Out) -> None:
    thread = ws.thread(cmd.thread_id)
    text = validate.answer_text(cmd)
    agent_id = cmd.agent_id
    if thread.agent_id != agent_id:
        raise Forbidden("only the agent holding the thread answers it", field="thread_id")
    agent = ws.agents[agent_id]
    _add_message(ws, thread, "agent", agent_id, text, now, out)
    if thread.state is ThreadState.ASSIGNED:
        thread_id = thread.id
        thread.state = ThreadState.IN_PROGRESS
        thread.answered_once = True
        del agent.unanswered[thread_id]
        if thread.reclaim_pending:  # answered: no longer R5's to reclaim
            thread.reclaim_pending = False
            del ws.reclaim_pending[thread_id]
        out.append(ThreadAnswered(now, thread_id, agent_id))
        # Only the S6 deadline can move: an answer changes neither the agent's eligibility
        # nor their routing key (load, last assignment, idle time), so the picker is not told.
        ws._dirty.add(agent_id)
    if agent.prompt_deadline is not None:
        ws.confirm_presence(agent, "answered", now, out)


def close_thread(ws: Workspace, cmd: c.CloseThread, now: Instant, out: Out) -> None:
    thread = ws.thread(cmd.thread_id)
    _check_thread_actor(thread, cmd.actor, "closes")
    holder = thread.agent_id
    state = thread.state
    owner = holder if state is ThreadState.IN_PROGRESS else None  # R4: answered by the holder
    client_id = thread.client_id
    out.append(ThreadClosed(now, thread.id, holder, cmd.actor, client_id, owner))
    ws.affinity.closed(client_id, owner, now, ws.settings.client_affinity_timeout)
    if state is ThreadState.QUEUED:
        ws.unqueue(thread)
    else:
        ws.release(thread, now, out)
    thread.state = ThreadState.CLOSED
    del ws.threads[thread.id]
    del ws.open_by_client[client_id]


def transfer(ws: Workspace, cmd: c.Transfer, now: Instant, out: Out) -> None:
    """R3: to any agent, whatever their status or load. Never done by the router."""
    thread = ws.thread(cmd.thread_id)
    target = ws.agent(cmd.to_agent_id, field="agent_id")
    _check_thread_actor(thread, cmd.actor, "transfers")
    if thread.agent_id == target.id:
        raise Conflict("the agent already holds this thread", field="agent_id")
    out.append(ThreadTransferred(now, thread.id, thread.agent_id, target.id, cmd.actor))
    if thread.state is ThreadState.QUEUED:
        ws.unqueue(thread)
    else:
        ws.release(thread, now, out)
    ws.take(thread, target, now)


def pin_message(ws: Workspace, cmd: c.PinMessage, now: Instant, out: Out) -> None:
    thread = ws.thread(cmd.thread_id)
    if thread.agent_id != cmd.agent_id:
        raise Forbidden("only the agent holding the thread pins its messages", field="thread_id")
    if cmd.message_thread_id != thread.id:
        raise NotFound(f"message {cmd.message_id} is not in thread {thread.id}", field="message_id")
    if (cmd.message_id in thread.pinned) == cmd.pinned:
        return
    agent = ws.agents[cmd.agent_id]
    if cmd.pinned:
        thread.pinned = (*thread.pinned, cmd.message_id)
        agent.pinned += 1
    else:
        thread.pinned = tuple(m for m in thread.pinned if m != cmd.message_id)
        agent.pinned -= 1
    out.append(MessagePinned(now, thread.id, cmd.message_id, agent.id, cmd.pinned))


def _add_message(
    ws: Workspace, thread: Thread, author: str, agent_id: int | None, text: str, now: Instant, out: Out
) -> None:
    message_id = ws.next_message_id
    ws.next_message_id += 1
    out.append(MessageAdded(now, thread.id, message_id, author, agent_id, text))


def _check_thread_actor(thread: Thread, actor: Actor, verb: str) -> None:
    if actor.kind == "agent":
        if thread.agent_id != actor.id:
            raise Forbidden(f"an agent {verb} only threads they hold", field="thread_id")
    elif actor.kind not in ("supervisor", "admin"):
        raise Forbidden(f"only agents and supervisors {verb} threads", field="actor")
