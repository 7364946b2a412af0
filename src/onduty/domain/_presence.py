"""Statuses and their consequences: S2, S3, S5, S6, S10 and R5. Also the timers' tick."""

from __future__ import annotations

from heapq import heappop

from onduty.domain._routing import RoutingMixin
from onduty.domain._state import Out
from onduty.domain._timers import TimerKind
from onduty.domain.events import AgentOverdue, AgentPrompted, ApprovalCancelled, PromptCleared, StatusChanged
from onduty.domain.model import Agent
from onduty.domain.statuses import TAKES_OWN_CLIENTS, WORKING
from onduty.domain.types import (
    WHY_DISCONNECTED,
    WHY_FINISHING_COMPLETED,
    WHY_IDLE,
    WHY_KICKED_OUT,
    WHY_LOGIN_RESTORE,
    Actor,
    Instant,
    OnLogout,
    State,
    ThreadState,
)

# Changes that leave an S8 return possible: the system's own steps after moving an absent
# agent. Any other change means somebody decided anew, and the return restores nothing.
_KEEPS_AWAY_FROM = frozenset({WHY_DISCONNECTED, WHY_IDLE, WHY_FINISHING_COMPLETED})


class PresenceMixin(RoutingMixin):
    def set_state(self, agent: Agent, state: State, reason: str | None, actor: Actor, now: Instant, out: Out) -> None:
        """Record a status change (S7) and keep every index in step. No rules here."""
        old_state, old_reason = agent.state, agent.reason
        if old_state is state and old_reason == reason:
            return
        agent.state, agent.reason, agent.since, agent.set_by = state, reason, now, actor
        out.append(StatusChanged(now, agent.id, old_state, old_reason, state, reason, actor))
        if old_state is State.OFFLINE:
            # A login, by Login or by a status set while offline (S2): S8 watches the agent only
            # once connected since (a stream of an earlier session does not count).
            agent.stream_seen = agent.connected
        if old_state is State.ACTIVE:
            self.active_count -= 1
        if state is State.ACTIVE:
            self.active_count += 1
        if agent.away_from is not None and actor.why not in _KEEPS_AWAY_FROM:
            agent.away_from = agent.away_at = None
        if state in WORKING:
            if old_state not in WORKING:
                agent.working_since = now
        else:
            agent.working_since = None
            self.clear_prompt(agent, "status_changed", now, out)
        if state is State.ACTIVE and old_state is not State.ACTIVE:
            agent.idle_since = now
        if state in TAKES_OWN_CLIENTS and old_state not in TAKES_OWN_CLIENTS:
            self._keep_unanswered(agent)
        self.reindex(agent)

    def apply_status(
        self, agent: Agent, state: State, reason: str | None, actor: Actor, now: Instant, out: Out
    ) -> None:
        """A validated status request, with its consequences: S3 finishing, R5 reclaim, S5 logout."""
        if state is State.OFFLINE:
            self.logout(agent, actor, now, out)
            return
        reclaim: list[int] = []
        defer = False
        if agent.state in TAKES_OWN_CLIENTS and state not in TAKES_OWN_CLIENTS and agent.unanswered:
            reclaim = list(agent.unanswered)
            defer = not self._someone_else_eligible(agent)
        if state is State.INACTIVE:
            still_held = len(agent.threads) - (0 if defer else len(reclaim))
            if still_held > 0:
                state = State.FINISHING  # S3: finish the threads first
        self.set_state(agent, state, reason, actor, now, out)
        self._reclaim(reclaim, defer, now, out)

    def login(self, agent: Agent, now: Instant, out: Out) -> None:
        """S5: back to the status before the last logout; the first login gives not_ready."""
        if agent.state is not State.OFFLINE:
            return
        state, reason = agent.before_logout or (State.NOT_READY, None)
        if state is State.FINISHING:
            state = State.INACTIVE
        elif state is State.KICKED_OUT:
            state, reason = State.NOT_READY, None
        if state is State.INACTIVE and (r := self.reasons.get(reason or "")) is not None and r.retired:
            state, reason = State.NOT_READY, None
        if state is State.INACTIVE and agent.threads:
            state = State.FINISHING  # S3: threads kept through the logout (on_logout = keep) come first
        agent.ever_logged_in = True
        self.set_state(agent, state, reason, Actor.system(WHY_LOGIN_RESTORE), now, out)

    def logout(self, agent: Agent, actor: Actor, now: Instant, out: Out) -> None:
        """S5: offline; held threads go by `on_logout`. R5 still reclaims unanswered ones under `keep`."""
        if agent.state is State.OFFLINE:
            return
        agent.before_logout = (agent.state, agent.reason)
        self.cancel_request(agent, "logged_out", now, out)
        if self.settings.on_logout is OnLogout.REQUEUE:
            requeue, why, defer = list(agent.threads), "logout", False
        elif agent.state in TAKES_OWN_CLIENTS and agent.unanswered:
            requeue, why, defer = list(agent.unanswered), "reclaimed", not self._someone_else_eligible(agent)
        else:
            requeue, why, defer = [], "", False
        self.set_state(agent, State.OFFLINE, None, actor, now, out)
        self._reclaim(requeue, defer, now, out, why)

    def kick_out(self, agent: Agent, now: Instant, out: Out) -> None:
        """S6: every held thread back to the queue, keeping its arrival time."""
        agent.prompt_deadline = None
        self.set_state(agent, State.KICKED_OUT, None, Actor.system(WHY_KICKED_OUT), now, out)
        for thread_id in list(agent.threads):
            self.requeue(self.threads[thread_id], "kicked_out", now, out)

    def cancel_request(self, agent: Agent, why: str, now: Instant, out: Out) -> None:
        if agent.pending_request is not None:
            request = self.requests.pop(agent.pending_request)
            agent.pending_request = None
            out.append(ApprovalCancelled(now, request.id, agent.id, why))

    # -- S6 --------------------------------------------------------------------------

    def clear_prompt(self, agent: Agent, why: str, now: Instant, out: Out) -> None:
        if agent.prompt_deadline is not None:
            agent.prompt_deadline = None
            out.append(PromptCleared(now, agent.id, why))
            self._dirty.add(agent.id)

    def confirm_presence(self, agent: Agent, why: str, now: Instant, out: Out) -> None:
        """The agent showed they are there: the prompt goes and the S6 clock restarts."""
        if agent.prompt_deadline is not None:
            self.clear_prompt(agent, why, now, out)
            agent.working_since = now

    def set_deadlines(self, agent: Agent) -> None:
        """Put the agent's S6 response deadline and S10 overdue mark where the rules say they are now."""
        self._set_overdue_at(agent)
        deadline: Instant | None = None
        unanswered = agent.unanswered
        if unanswered and agent.prompt_deadline is None and (start := agent.working_since) is not None:
            first_assigned = next(iter(unanswered.values()))
            deadline = max(start, first_assigned) + self.settings.response_timeout
        if deadline != agent.response_deadline:
            agent.response_deadline = deadline
            if deadline is not None:
                self.timers.push(deadline, TimerKind.RESPONSE, agent.id)

    def _prompt(self, agent: Agent, now: Instant, out: Out) -> None:
        agent.response_deadline = None
        agent.prompt_deadline = now + self.settings.prompt_timeout
        self.timers.push(agent.prompt_deadline, TimerKind.PROMPT, agent.id)
        out.append(AgentPrompted(now, agent.id, agent.prompt_deadline))

    # -- S10 -------------------------------------------------------------------------

    def overdue_at_of(self, agent: Agent) -> Instant | None:
        """When the agent is overdue in their break: `since` plus the reason's max_minutes,
        while `inactive` in a reason with a limit (finishing towards it does not count)."""
        if agent.state is not State.INACTIVE or agent.reason is None:
            return None
        reason = self.reasons.get(agent.reason)
        if reason is None or reason.max_minutes is None:
            return None
        return agent.since + reason.max_minutes * 60.0

    def _set_overdue_at(self, agent: Agent) -> None:
        """A new break, or a new limit for it, starts afresh: not overdue until its moment, which
        may be now already (a limit lowered below the time taken: the timer fires in this step)."""
        at = self.overdue_at_of(agent)
        if at != agent.overdue_at:
            agent.overdue_at = at
            agent.overdue = False
            if at is not None:
                self.timers.push(at, TimerKind.OVERDUE, agent.id)

    def _mark_overdue(self, agent: Agent, now: Instant, out: Out) -> None:
        # A timer before this one in the same step may have moved the agent (S8's logout),
        # before the end of the step re-armed them: it counts only if the rules still put it here.
        if self.overdue_at_of(agent) != agent.overdue_at:
            self._set_overdue_at(agent)
            return
        code = agent.reason
        reason = self.reasons.get(code or "")
        assert code is not None, "a live overdue timer is a limited break's"
        assert reason is not None, "a live overdue timer is a limited break's"
        assert reason.max_minutes is not None, "a live overdue timer is a limited break's"
        agent.overdue = True
        out.append(AgentOverdue(now, agent.id, code, agent.since, reason.max_minutes))

    # -- the timers ------------------------------------------------------------------

    def next_deadline(self) -> Instant | None:
        heap = self.timers.entries
        while heap:
            deadline, kind, key, _ = heap[0]
            if self._is_live(deadline, kind, key):
                return deadline
            heappop(heap)
        return None

    def fire_due(self, now: Instant, out: Out) -> None:
        """Fire every live deadline up to `now`. Late deadlines (the service was down)
        take effect now: a prompt always gives the full prompt_timeout from when it shows."""
        heap = self.timers.entries
        while heap and heap[0][0] <= now:
            deadline, kind, key, _ = heappop(heap)
            if not self._is_live(deadline, kind, key):
                continue
            if kind is TimerKind.RESPONSE:
                self._prompt(self.agents[key], now, out)
            elif kind is TimerKind.PROMPT:
                self.kick_out(self.agents[key], now, out)
            elif kind is TimerKind.AFFINITY:
                self.end_reservation(self.threads[key], now, out)
            elif kind is TimerKind.OVERDUE:
                self._mark_overdue(self.agents[key], now, out)
            else:
                self.absent(self.agents[key], WHY_DISCONNECTED if kind is TimerKind.GRACE else WHY_IDLE, now, out)

    def _is_live(self, deadline: Instant, kind: TimerKind, key: int) -> bool:
        if kind is TimerKind.AFFINITY:
            thread = self.threads.get(key)
            return thread is not None and thread.reserve_deadline == deadline
        agent = self.agents.get(key)
        if agent is None:
            return False
        if kind is TimerKind.RESPONSE:
            return agent.response_deadline == deadline
        if kind is TimerKind.PROMPT:
            return agent.prompt_deadline == deadline
        if kind is TimerKind.OVERDUE:
            return agent.overdue_at == deadline and not agent.overdue
        if kind is TimerKind.GRACE:
            return agent.grace_deadline == deadline
        return agent.idle_deadline == deadline

    # -- hooks -----------------------------------------------------------------------

    def absent(self, agent: Agent, why: str, now: Instant, out: Out) -> None:
        """S8's move, fired by its timers here; ConnectionsMixin (connections.py) provides it."""
        raise NotImplementedError

    def _after_release(self, agent: Agent, now: Instant, out: Out) -> None:
        """A thread left `agent` (closed, transferred away, requeued)."""
        if agent.prompt_deadline is not None and not agent.unanswered:
            self.clear_prompt(agent, "no_unanswered_threads", now, out)  # S6: nothing left to answer
        if agent.state is State.FINISHING and not agent.threads:  # S3: the last thread went: on to the break
            self.set_state(agent, State.INACTIVE, agent.reason, Actor.system(WHY_FINISHING_COMPLETED), now, out)

    def _someone_else_eligible(self, agent: Agent) -> bool:
        return len(self.picker) - (1 if agent in self.picker else 0) > 0

    def _reclaim(self, thread_ids: list[int], defer: bool, now: Instant, out: Out, why: str = "reclaimed") -> None:
        """R5: the threads back to the queue; or, when nobody else is eligible (`defer`), R6
        keeps them with the agent, marked to go back the moment someone is (routing.py)."""
        for thread_id in thread_ids:
            thread = self.threads[thread_id]
            if defer:
                thread.reclaim_pending = True
                self.reclaim_pending[thread_id] = None
            else:
                self.requeue(thread, why, now, out)

    def _keep_unanswered(self, agent: Agent) -> None:
        """Back in a state that takes threads: deferred reclaims of this agent's threads are off."""
        for thread_id in agent.unanswered:
            thread = self.threads[thread_id]
            if thread.reclaim_pending and thread.state is ThreadState.ASSIGNED:
                thread.reclaim_pending = False
                del self.reclaim_pending[thread_id]
