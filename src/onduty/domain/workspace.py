"""The workspace aggregate: all the engine's state and its rules in one place."""

from __future__ import annotations

from onduty.domain._connections import ConnectionsMixin
from onduty.domain._state import Out
from onduty.domain.types import Instant


class Workspace(ConnectionsMixin):
    """One team space: agents, open threads, queue, timers. Mutated only by the engine."""

    def end_step(self, now: Instant, out: Out) -> None:
        """End of every command and tick: route (R7), then set the deadlines (S6, S8) of the
        agents the step changed."""
        self.route(now, out)
        dirty = self._dirty
        if dirty:
            agents = self.agents
            for agent_id in dirty:  # a set: its order is the order deadlines are pushed (ties)
                agent = agents.get(agent_id)
                if agent is not None:
                    self.set_deadlines(agent)
            dirty.clear()
