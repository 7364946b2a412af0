"""Rebuild an engine from its durable state: what the service does at start.

Storage keeps records of the lasting facts (agents, open threads, pending
requests, client owners, settings, reasons). Everything else is derived here:
who holds what, the queue, the pickers' indexes and every timer, S6 and R4
included, so deadlines survive a restart without being stored twice.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from onduty.domain.engine import Engine
from onduty.domain.model import Agent, ApprovalRequest, Thread
from onduty.domain.pickers import RoundRobin
from onduty.domain.reasons import Reason
from onduty.domain.settings import Settings
from onduty.domain.timers import TimerKind
from onduty.domain.types import AgentId, ClientId, Instant, ThreadState


@dataclass(slots=True)
class Snapshot:
    settings: Settings
    reasons: list[Reason]
    agents: list[Agent]  # lasting fields; held threads, pins and deadlines are derived
    threads: list[Thread]  # open threads, with their message ids and pins
    requests: list[ApprovalRequest]  # pending only
    owners: list[tuple[ClientId, AgentId, Instant]]  # R4: client -> agent, since
    next_thread_id: int = 1
    next_message_id: int = 1
    next_request_id: int = 1
    clock: Instant = float("-inf")
    round_robin_last: AgentId = -1
    extra: dict[str, object] = field(default_factory=dict)


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
        clock=ws.clock,
        round_robin_last=picker.last if isinstance(picker, RoundRobin) else -1,
    )


def restore(snapshot: Snapshot) -> Engine:
    engine = Engine(snapshot.settings)
    ws = engine.workspace
    for reason in snapshot.reasons:
        ws.reasons.add(reason)
    for agent in snapshot.agents:
        agent.threads, agent.unanswered, agent.reserved = {}, {}, {}
        agent.pinned, agent.pending_request, agent.response_deadline = 0, None, None
        ws.agents[agent.id] = agent
        if agent.prompt_deadline is not None:
            ws.timers.push(agent.prompt_deadline, TimerKind.PROMPT, agent.id)

    for thread in sorted(snapshot.threads, key=_hold_order):
        ws.threads[thread.id] = thread
        ws.open_by_client[thread.client_id] = thread.id
        if thread.agent_id is not None:
            holder = ws.agents[thread.agent_id]
            holder.threads[thread.id] = None
            holder.pinned += len(thread.pinned)
            if thread.state is ThreadState.ASSIGNED:
                assert thread.assigned_at is not None
                holder.unanswered[thread.id] = thread.assigned_at
            if thread.reclaim_pending:
                ws.reclaim_pending[thread.id] = None
        elif thread.reserved_for is not None and thread.reserve_deadline is not None:
            waiting_for = ws.agents[thread.reserved_for]
            waiting_for.reserved[thread.id] = None
            ws.reserving[waiting_for.id] = None
            ws.timers.push(thread.reserve_deadline, TimerKind.AFFINITY, thread.id)
        else:
            ws.queue.push(thread)

    for request in snapshot.requests:
        ws.requests[request.id] = request
        ws.agents[request.agent_id].pending_request = request.id
    for client_id, agent_id, since in sorted(snapshot.owners, key=lambda o: o[2]):
        ws.affinity.record(client_id, agent_id, since)

    ws.next_thread_id = snapshot.next_thread_id
    ws.next_message_id = snapshot.next_message_id
    ws.next_request_id = snapshot.next_request_id
    ws.clock = snapshot.clock
    if isinstance(ws.picker, RoundRobin):
        ws.picker.last = snapshot.round_robin_last
    for agent in ws.agents.values():
        ws.refresh(agent)
        ws.arm(agent)
    ws._dirty.clear()
    return engine


def _hold_order(thread: Thread) -> tuple[float, int]:
    # Held threads go back in the order they were given (S6 counts from the oldest).
    return (thread.assigned_at if thread.assigned_at is not None else float("-inf"), thread.id)
