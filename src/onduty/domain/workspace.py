"""The workspace aggregate: all the engine's state and its rules in one place."""

from __future__ import annotations

from onduty.domain.presence import PresenceMixin
from onduty.domain.state import Out
from onduty.domain.types import Instant


class Workspace(PresenceMixin):
    """One team space: agents, open threads, queue, timers. Mutated only by the engine."""

    def finish(self, now: Instant, out: Out) -> None:
        """End of every command and tick: route, then put S6 deadlines where they belong."""
        self.route(now, out)
        if self._dirty:
            agents = self.agents
            for agent_id in self._dirty:
                agent = agents.get(agent_id)
                if agent is not None:
                    self.arm(agent)
            self._dirty.clear()
