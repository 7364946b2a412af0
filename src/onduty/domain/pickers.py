"""The strategies of R2: which eligible agent gets the next thread.

Each picker keeps an index of the eligible agents so that a pick costs
O(log n), never a scan of every agent: the engine tells it whenever an agent's
eligibility or ordering key may have changed.
"""

from __future__ import annotations

import bisect
import heapq
from abc import ABC, abstractmethod
from typing import Any

from onduty.domain.model import Agent
from onduty.domain.types import AgentId, Strategy


class Picker(ABC):
    strategy: Strategy

    def __init__(self) -> None:
        # The eligible agents; read-only outside (the router counts them for each trace).
        self.eligible: dict[AgentId, Agent] = {}

    def __len__(self) -> int:
        return len(self.eligible)

    def __contains__(self, agent: Agent) -> bool:
        return agent.id in self.eligible

    @abstractmethod
    def update(self, agent: Agent, eligible: bool) -> None:
        """Told whenever the agent's eligibility or ordering key may have changed."""

    @abstractmethod
    def pick(self) -> Agent | None:
        """The agent the strategy prefers now, or None when nobody is eligible."""


class _HeapPicker(Picker):
    """A lazy heap of (key..., agent id): stale entries are skipped at the top."""

    def __init__(self) -> None:
        super().__init__()
        self._heap: list[tuple[Any, ...]] = []
        self._live: dict[AgentId, tuple[Any, ...]] = {}

    @abstractmethod
    def _entry(self, agent: Agent) -> tuple[Any, ...]:
        """The agent's heap entry: their ordering key, then their id."""

    def update(self, agent: Agent, eligible: bool) -> None:
        agent_id = agent.id
        if eligible:
            entry = self._entry(agent)
            live = self._live
            if live.get(agent_id) != entry:
                self.eligible[agent_id] = agent
                live[agent_id] = entry
                heap = self._heap
                heapq.heappush(heap, entry)
                if len(heap) > 2 * len(live) + 1024:
                    self._heap = list(live.values())
                    heapq.heapify(self._heap)
        elif self.eligible.pop(agent_id, None) is not None:
            del self._live[agent_id]

    def pick(self) -> Agent | None:
        heap, live = self._heap, self._live
        while heap:
            entry = heap[0]
            if live.get(entry[-1]) == entry:
                return self.eligible[entry[-1]]
            heapq.heappop(heap)
        return None


class LeastBusy(_HeapPicker):
    """Fewest threads, then longest since the last assignment (R2 default)."""

    strategy = Strategy.LEAST_BUSY

    def _entry(self, agent: Agent) -> tuple[Any, ...]:
        return (len(agent.threads), agent.last_assigned_at, agent.id)


class LongestIdle(_HeapPicker):
    """Longest since the agent last got or released work, or became active, whatever the load."""

    strategy = Strategy.LONGEST_IDLE

    def _entry(self, agent: Agent) -> tuple[Any, ...]:
        return (agent.idle_since, agent.id)


class RoundRobin(Picker):
    """Agents in id order, each pick starting after the last agent picked."""

    strategy = Strategy.ROUND_ROBIN

    def __init__(self) -> None:
        super().__init__()
        self._ids: list[AgentId] = []
        self.last: AgentId = -1  # the agent picked last; kept across a restart

    def update(self, agent: Agent, eligible: bool) -> None:
        agent_id = agent.id
        if eligible:
            if agent_id not in self.eligible:
                bisect.insort(self._ids, agent_id)
            self.eligible[agent_id] = agent
        elif self.eligible.pop(agent_id, None) is not None:
            del self._ids[bisect.bisect_left(self._ids, agent_id)]

    def pick(self) -> Agent | None:
        if not self._ids:
            return None
        i = bisect.bisect_right(self._ids, self.last)
        agent_id = self._ids[i if i < len(self._ids) else 0]
        self.last = agent_id
        return self.eligible[agent_id]


_PICKERS: dict[Strategy, type[LeastBusy] | type[LongestIdle] | type[RoundRobin]] = {
    Strategy.LEAST_BUSY: LeastBusy,
    Strategy.LONGEST_IDLE: LongestIdle,
    Strategy.ROUND_ROBIN: RoundRobin,
}


def picker_for(strategy: Strategy) -> Picker:
    return _PICKERS[strategy]()
