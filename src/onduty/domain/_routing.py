"""Threads moving between the queue and agents: R1, R2, R4, R5 (deferred by R6), R7."""

from __future__ import annotations

from onduty.domain._state import Out, WorkspaceState
from onduty.domain._timers import TimerKind
from onduty.domain.events import RoutingTrace, ThreadAssigned, ThreadRequeued
from onduty.domain.model import Agent, Thread
from onduty.domain.statuses import TAKES_OWN_CLIENTS
from onduty.domain.types import Instant, ThreadState

AFFINITY = "affinity"


class RoutingMixin(WorkspaceState):
    def take(self, thread: Thread, agent: Agent, now: Instant) -> None:
        """`agent` now holds `thread`, unanswered (router assignment or transfer)."""
        thread_id = thread.id
        thread.state = ThreadState.ASSIGNED
        thread.agent_id = agent.id
        thread.assigned_at = now
        agent.threads[thread_id] = None
        agent.unanswered[thread_id] = now
        agent.pinned += len(thread.pinned)
        agent.last_assigned_at = now
        agent.idle_since = now
        self.reindex(agent)

    def assign(self, thread: Thread, agent: Agent, strategy: str, now: Instant, out: Out) -> None:
        # An own client's thread could go to one agent only (R4); the router chose among the picker's.
        eligible = 1 if strategy == AFFINITY else len(self.picker.eligible)
        trace = RoutingTrace(strategy, eligible, len(agent.threads), now - agent.idle_since)
        self.take(thread, agent, now)
        out.append(ThreadAssigned(now, thread.id, agent.id, trace))

    def release(self, thread: Thread, now: Instant, out: Out) -> None:
        """`thread` leaves its holder (closed, transferred away, requeued)."""
        agent_id = thread.agent_id
        if agent_id is None:
            return
        thread_id = thread.id
        agent = self.agents[agent_id]
        del agent.threads[thread_id]
        agent.unanswered.pop(thread_id, None)
        agent.pinned -= len(thread.pinned)
        agent.idle_since = now
        thread.agent_id = None
        thread.assigned_at = None
        if thread.reclaim_pending:
            thread.reclaim_pending = False
            del self.reclaim_pending[thread_id]
        self.reindex(agent)
        self._after_release(agent, now, out)

    def requeue(self, thread: Thread, why: str, now: Instant, out: Out) -> None:
        out.append(ThreadRequeued(now, thread.id, thread.agent_id, why))
        self.release(thread, now, out)
        self.queue.push(thread)

    def enqueue(self, thread: Thread, now: Instant, out: Out) -> None:
        """A new thread joins the general queue (R1), last thing in its command."""
        self.queue.push(thread)

    def unqueue(self, thread: Thread) -> None:
        """Take a queued thread out of the general queue or its R4 wait."""
        if thread.reserved_for is not None:
            self.unreserve(thread)
        else:
            self.queue.discard(thread)

    # -- R4 own clients ----------------------------------------------------------

    def reserve(self, thread: Thread, agent: Agent, now: Instant) -> None:
        thread.state = ThreadState.QUEUED
        thread.reserved_for = agent.id
        thread.reserve_deadline = now + self.settings.affinity_wait
        agent.reserved[thread.id] = None
        self.reserving[agent.id] = None
        self.timers.push(thread.reserve_deadline, TimerKind.AFFINITY, thread.id)

    def unreserve(self, thread: Thread) -> None:
        assert thread.reserved_for is not None
        agent = self.agents[thread.reserved_for]
        del agent.reserved[thread.id]
        if not agent.reserved:
            del self.reserving[agent.id]
        thread.reserved_for = None
        thread.reserve_deadline = None

    def end_reservation(self, thread: Thread, now: Instant, out: Out) -> None:
        """R4: the wait is over; the thread joins the general queue."""
        out.append(ThreadRequeued(now, thread.id, thread.reserved_for, "affinity_wait_over"))
        self.unreserve(thread)
        self.queue.push(thread)

    # -- the router's step ---------------------------------------------------------

    def route(self, now: Instant, out: Out) -> None:
        """Run after every command and tick: afterwards no thread waits in the general
        queue while an eligible agent has room (R7)."""
        if self.reserving:
            self._serve_own_clients(now, out)
        picker = self.picker
        if self.reclaim_pending and len(picker):
            for thread_id in list(self.reclaim_pending):
                self.requeue(self.threads[thread_id], "reclaimed", now, out)
        while self.queue:
            agent = picker.pick()
            if agent is None:
                break  # R6: nobody eligible; threads wait
            thread = self.queue.pop()
            assert thread is not None
            self.assign(thread, agent, picker.strategy.value, now, out)

    def _serve_own_clients(self, now: Instant, out: Out) -> None:
        for agent_id in list(self.reserving):
            agent = self.agents[agent_id]
            while agent.reserved and agent.state in TAKES_OWN_CLIENTS and self.has_room(agent):
                thread = self.threads[next(iter(agent.reserved))]
                self.unreserve(thread)
                self.assign(thread, agent, AFFINITY, now, out)
