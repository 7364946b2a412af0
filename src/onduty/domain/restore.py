"""Rebuild an engine from its durable state: what the service does at start.

Storage keeps records of the lasting facts (agents, open threads, pending
requests, client owners, settings, reasons). Everything else is derived here:
who holds what, the queue, the pickers' indexes and every timer, S6, R4 and
S10 included, so deadlines survive a restart without being stored twice.
"""

from __future__ import annotations

import copy
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter, itemgetter

from onduty.domain._timers import TimerKind
from onduty.domain.engine import Engine
from onduty.domain.model import Agent, ApprovalRequest, Thread
from onduty.domain.pickers import RoundRobin
from onduty.domain.reasons import Reason
from onduty.domain.settings import Settings
from onduty.domain.types import AgentId, ClientId, Instant, State, ThreadState
from onduty.domain.workspace import Workspace


@dataclass(slots=True)
class Snapshot:
    settings: Settings
    reasons: list[Reason]
    agents: list[Agent]  # lasting fields; held threads, pins and deadlines are derived
    threads: list[Thread]  # open threads, with their pins
    requests: list[ApprovalRequest]  # pending only
    owners: list[tuple[ClientId, AgentId, Instant]]  # R4: client -> agent, since
    next_thread_id: int = 1
    next_message_id: int = 1
    next_request_id: int = 1
    next_chat_id: int = 1
    clock: Instant = float("-inf")
    round_robin_last: AgentId = -1


def take_snapshot(engine: Engine) -> Snapshot:
    """A deep copy of the lasting state (for tests, and for storage that wants it whole)."""
    ws = engine.workspace
    picker = ws.picker
    return Snapshot(
        settings=ws.settings,
        reasons=copy.deepcopy(ws.reasons.all()),
        agents=copy.deepcopy(list(ws.agents.values())),
        threads=copy.deepcopy(list(ws.threads.values())),
        requests=copy.deepcopy(list(ws.requests.values())),
        owners=ws.affinity.items(),
        next_thread_id=ws.next_thread_id,
        next_message_id=ws.next_message_id,
        next_request_id=ws.next_request_id,
        next_chat_id=ws.next_chat_id,
        clock=ws.clock,
        round_robin_last=picker.last if isinstance(picker, RoundRobin) else -1,
    )


def restore(snapshot: Snapshot) -> Engine:
    with gc_paused():
        return _restore(snapshot)


def _restore(snapshot: Snapshot) -> Engine:
    engine = Engine(snapshot.settings)
    ws = engine.workspace
    for reason in snapshot.reasons:
        ws.reasons.add(reason)
    agents = ws.agents
    for agent in snapshot.agents:
        agent.threads, agent.unanswered, agent.reserved = {}, {}, {}
        agent.pinned, agent.pending_request, agent.response_deadline = 0, None, None
        agent.grace_deadline = agent.idle_deadline = agent.overdue_at = None
        agent.overdue = False
        # The pages' last input, as kept; a connected agent without one (kept by an older
        # version) counts from the last thing written.
        if not agent.connected:
            agent.last_input = None
        elif agent.last_input is None:
            agent.last_input = snapshot.clock
        agents[agent.id] = agent
        if agent.prompt_deadline is not None:
            ws.timers.push(agent.prompt_deadline, TimerKind.PROMPT, agent.id)

    # Lookups by id and by client, in the snapshot's order (the order the threads were
    # made in, so memory is read in order: faster than one by one in hold order).
    threads = snapshot.threads
    ws.threads.update(zip(map(_ID, threads), threads, strict=True))
    ws.open_by_client.update(zip(map(_CLIENT_ID, threads), map(_ID, threads), strict=True))
    assigned, reclaim_pending, queue = ThreadState.ASSIGNED, ws.reclaim_pending, ws.queue
    for thread in _in_hold_order(threads):
        agent_id = thread.agent_id
        if agent_id is not None:
            thread_id = thread.id
            holder = agents[agent_id]
            holder.threads[thread_id] = None
            if thread.pinned:
                holder.pinned += len(thread.pinned)
            if thread.state is assigned:
                assert thread.assigned_at is not None
                holder.unanswered[thread_id] = thread.assigned_at
            if thread.reclaim_pending:
                reclaim_pending[thread_id] = None
        elif thread.reserved_for is not None and thread.reserve_deadline is not None:
            waiting_for = agents[thread.reserved_for]
            waiting_for.reserved[thread.id] = None
            ws.reserving[waiting_for.id] = None
            ws.timers.push(thread.reserve_deadline, TimerKind.AFFINITY, thread.id)
        else:
            queue.push(thread)

    for request in snapshot.requests:
        ws.requests[request.id] = request
        agents[request.agent_id].pending_request = request.id
    for client_id, agent_id, since in sorted(snapshot.owners, key=_SINCE):
        ws.affinity.record(client_id, agent_id, since)

    ws.next_thread_id = snapshot.next_thread_id
    ws.next_message_id = snapshot.next_message_id
    ws.next_request_id = snapshot.next_request_id
    ws.next_chat_id = snapshot.next_chat_id
    ws.clock = snapshot.clock
    if isinstance(ws.picker, RoundRobin):
        ws.picker.last = snapshot.round_robin_last
    _derive_from_agents(ws)
    return engine


def _derive_from_agents(ws: Workspace) -> None:
    """What the workspace counts and indexes about its agents, and every agent's deadlines."""
    agents = ws.agents
    ws.active_count = sum(1 for agent in agents.values() if agent.state is State.ACTIVE)
    ws.count_connections()
    clock = ws.clock
    for agent in agents.values():
        ws.reindex(agent)
        ws.set_deadlines(agent)
        # S10: a moment at or before the clock has passed, and the engine fires every deadline
        # up to its clock in the step that reaches it: that agent.overdue is in the journal
        # already (its time is at most the last event's, the clock). One after it has not been
        # said yet (the service was down): its timer fires at the next tick, once.
        if agent.overdue_at is not None and agent.overdue_at <= clock:
            agent.overdue = True
    ws._dirty.clear()


_ID = attrgetter("id")
_CLIENT_ID = attrgetter("client_id")
_ASSIGNED_AT = attrgetter("assigned_at")
_SINCE = itemgetter(2)


def _in_hold_order(threads: list[Thread]) -> list[Thread]:
    """Held threads go back in the order they were given (S6 counts from the oldest): by
    (assigned_at, id), with the threads nobody holds (no assigned_at) first, by id. Two
    stable sorts on plain keys rather than one on tuples; the first is nearly free when
    the threads come in id order."""
    by_id = sorted(threads, key=_ID)
    waiting = [thread for thread in by_id if thread.assigned_at is None]
    held = [thread for thread in by_id if thread.assigned_at is not None]
    held.sort(key=_ASSIGNED_AT)
    return waiting + held


# How many objects a pause must have made for them to be promoted on the way out (see below).
_PROMOTE = 100_000


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a whole state is built (restore, or the
    store reading it). Otherwise it runs every few hundred allocations and traverses
    the objects made so far, again and again, while none of them can be garbage yet:
    most of the time of a large restore. When the pause made many objects, they go
    straight to the oldest generation on the way out (freeze then unfreeze: two list
    splices), so they are not traversed once per generation on their way there either;
    like any old object, they are looked at again by the next full collection. Small
    pauses (tests, small teams) leave the collector's generations as they are. Nesting
    is fine; the collector is left as it was found (enabled or not)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # The youngest generation's count: objects made (less those freed) since it was last collected.
        if gc.get_count()[0] >= _PROMOTE and gc.get_freeze_count() == 0:  # never thaw what others froze
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()
