"""S8: statuses that follow whether an agent is there: their event streams and their input.

Each instance of the service counts the agent's streams open on it and says when the
first opens there (`connect`) and the last closes there (`disconnect`); the agent is
connected while that is so on some instance (`connected_on`). An instance that dies takes
its connections with it (`drop_instance`); a service alone that starts drops them all
(`reset_connections`). Pages report input now and then (`report_input`).
The engine keeps the deadlines: `disconnect_grace` after the last stream closed, and
`idle_timeout` after the last input, the system sets the workspace's `on_disconnect`
status. A return within `return_window`, while nobody else changed the status, brings
back the status from before.

Which agents are moved (docs/rules.md, S8): with `on_disconnect` inactive, those who
could be given work or are about to start (`not_ready`, `active`, `active_own_clients`);
an agent on a break, finishing or kicked out already gets nothing new and keeps the status
that says why. With `on_disconnect` offline, every agent who is not offline is logged out.
"""

from __future__ import annotations

from operator import attrgetter

from onduty.domain._presence import PresenceMixin
from onduty.domain._state import Out
from onduty.domain._timers import TimerKind
from onduty.domain.events import AgentConnected, AgentDisconnected
from onduty.domain.model import Agent
from onduty.domain.types import WHY_IDLE, WHY_RECONNECTED, Actor, Instant, State

_MOVED_TO_INACTIVE = frozenset({State.NOT_READY, State.ACTIVE, State.ACTIVE_OWN_CLIENTS})
_ID = attrgetter("id")


class ConnectionsMixin(PresenceMixin):
    def connect(self, agent: Agent, instance: str, now: Instant, out: Out) -> None:
        """The agent's first stream on `instance` opened. Whether or not they had one open
        elsewhere, it says they are there: the idle clock starts again and a return is due."""
        agent.last_input = now
        agent.disconnected_at = None
        agent.stream_seen = True
        on = agent.connected_on
        if instance not in on:
            agent.connected_on = on | {instance}
            counts = self.agents_on_instance
            counts[instance] = counts.get(instance, 0) + 1
            if not on:
                out.append(AgentConnected(now, agent.id))
        self._return(agent, now, out)
        self._dirty.add(agent.id)

    def disconnect(self, agent: Agent, instance: str, now: Instant, out: Out) -> None:
        """The agent's last stream on `instance` closed. Still open on another instance, they
        are still connected: nothing else changes."""
        on = agent.connected_on
        if instance in on:
            self._left(agent, on - {instance}, now, out)

    def drop_instance(self, instance: str, now: Instant, out: Out) -> None:
        """`instance` died: every stream open on it is closed, agent by agent in id order."""
        if instance not in self.agents_on_instance:
            return
        on_it = [agent for agent in self.agents.values() if instance in agent.connected_on]
        for agent in sorted(on_it, key=_ID):
            self._left(agent, agent.connected_on - {instance}, now, out)

    def reset_connections(self, now: Instant, out: Out) -> None:
        """The service (re)started alone, with no stream open. An agent who was connected counts
        as disconnected from now: the service's own down time is nobody's absence."""
        connected = [agent for agent in self.agents.values() if agent.connected_on]
        for agent in sorted(connected, key=_ID):
            self._left(agent, frozenset(), now, out)

    def _left(self, agent: Agent, left: frozenset[str], now: Instant, out: Out) -> None:
        """The agent's streams are now open on `left` only (fewer instances than before). When
        none is left, they are disconnected from now: the grace starts."""
        counts = self.agents_on_instance
        for instance in agent.connected_on - left:
            count = counts[instance] - 1
            if count:
                counts[instance] = count
            else:
                del counts[instance]
        agent.connected_on = left
        if left:
            return
        agent.disconnected_at = now
        agent.last_input = None
        out.append(AgentDisconnected(now, agent.id, self.grace_deadline_of(agent)))
        self._dirty.add(agent.id)

    def connected_instances(self) -> frozenset[str]:
        """The instances on which some agent has a stream open (a few: one per live instance)."""
        return frozenset(self.agents_on_instance)

    def count_connections(self) -> None:
        """The counts behind `connected_instances`, from the agents' own sets (a restore)."""
        counts: dict[str, int] = {}
        for agent in self.agents.values():
            for instance in agent.connected_on:
                counts[instance] = counts.get(instance, 0) + 1
        self.agents_on_instance = counts

    def report_input(self, agent: Agent, now: Instant, out: Out) -> None:
        if not agent.connected:
            return  # input from a page whose stream is gone: its reconnect will say so
        agent.last_input = now
        self._return(agent, now, out)
        self._dirty.add(agent.id)

    def absent(self, agent: Agent, why: str, now: Instant, out: Out) -> None:
        """The grace or the idle time ran out: the workspace's on_disconnect status."""
        # Due deadlines fire in a row, and the end of the step re-arms the agents only after
        # them all. So this one counts only if the rules still put it here: a timer before it
        # in the same step may have moved it (a kick-out, when the engine ticks late) or fired it
        # already (a second heap entry for the same instant: a setting turned off and on again).
        if why == WHY_IDLE:
            fired, due = agent.idle_deadline, self.idle_deadline_of(agent)
            agent.idle_deadline = None
        else:
            fired, due = agent.grace_deadline, self.grace_deadline_of(agent)
            agent.grace_deadline = None
        if due == fired:
            self._move(agent, why, now, out)
        # And the agent's deadlines are put right at once, for the timers due after this one in
        # the same step: the S6 deadline of a thread just reclaimed must not prompt anybody.
        self.set_deadlines(agent)

    def _move(self, agent: Agent, why: str, now: Instant, out: Out) -> None:
        target = self.settings.on_disconnect
        before = agent.state, agent.reason
        if before[0] is State.FINISHING:
            before = State.INACTIVE, before[1]  # where they were heading, as at login (S5)
        actor = Actor.system(why)
        if target.state is State.OFFLINE:
            self.logout(agent, actor, now, out)
        else:
            self.apply_status(agent, State.INACTIVE, target.reason, actor, now, out)
        # Moved again while nobody else changed the status (a setting changed meanwhile, say from
        # idle's away to on_disconnect offline): the status before the first move still comes back.
        if agent.away_from is None:
            agent.away_from, agent.away_at = before, now

    def _return(self, agent: Agent, now: Instant, out: Out) -> None:
        away_from, away_at = agent.away_from, agent.away_at
        if away_from is None or away_at is None:
            return
        agent.away_from = agent.away_at = None
        window = self.settings.return_window
        if window <= 0 or now > away_at + window:
            return
        state, reason = away_from
        if state is State.KICKED_OUT:
            state, reason = State.NOT_READY, None  # only the system kicks out, and only for S6
        if state is State.INACTIVE and ((r := self.reasons.get(reason or "")) is None or r.retired):
            state, reason = State.NOT_READY, None  # as at login: a retired reason is not given back
        if state is State.OFFLINE or (agent.state is state and agent.reason == reason):
            return
        if agent.state is State.OFFLINE:
            agent.ever_logged_in = True
        self.apply_status(agent, state, reason, Actor.system(WHY_RECONNECTED), now, out)

    # -- deadlines ---------------------------------------------------------------------

    def movable(self, agent: Agent) -> bool:
        """Would S8 change this agent's status?"""
        if not agent.stream_seen or agent.state is State.OFFLINE:
            return False
        return self.settings.on_disconnect.state is State.OFFLINE or agent.state in _MOVED_TO_INACTIVE

    def grace_deadline_of(self, agent: Agent) -> Instant | None:
        grace = self.settings.disconnect_grace
        since = agent.disconnected_at
        if grace <= 0 or agent.connected or since is None or not self.movable(agent):
            return None
        # A status given while disconnected (a supervisor's, say) gets a whole grace too.
        return max(since, agent.since) + grace

    def idle_deadline_of(self, agent: Agent) -> Instant | None:
        idle = self.settings.idle_timeout
        last = agent.last_input
        if idle <= 0 or not agent.connected or last is None or not self.movable(agent):
            return None
        return max(last, agent.since) + idle

    def set_deadlines(self, agent: Agent) -> None:
        super().set_deadlines(agent)
        # Most agents never had a stream (the API's, the simulator's): nothing to work out.
        if agent.stream_seen or agent.grace_deadline is not None or agent.idle_deadline is not None:
            self._set_presence_deadlines(agent)

    def _set_presence_deadlines(self, agent: Agent) -> None:
        grace = self.grace_deadline_of(agent)
        if grace != agent.grace_deadline:
            agent.grace_deadline = grace
            if grace is not None:
                self.timers.push(grace, TimerKind.GRACE, agent.id)
        idle = self.idle_deadline_of(agent)
        if idle != agent.idle_deadline:
            agent.idle_deadline = idle
            if idle is not None:
                self.timers.push(idle, TimerKind.IDLE, agent.id)
