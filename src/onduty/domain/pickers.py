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
        self._agents: dict[AgentId, Agent] = {}

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent: Agent) -> bool:
        return agent.id in self._agents

    def update(self, agent: Agent, eligible: bool) -> None:
        if eligible:
            self._agents[agent.id] = agent
            self._keyed(agent)
        elif self._agents.pop(agent.id, None) is not None:
            self._removed(agent)

    @abstractmethod
    def pick(self) -> Agent | None:
        """The agent the strategy prefers now, or None when nobody is eligible."""

    @abstractmethod
    def _keyed(self, agent: Agent) -> None: ...

    def _removed(self, agent: Agent) -> None:  # noqa: B027 (optional hook)
        pass


class _HeapPicker(Picker):
    """A lazy heap of (key..., agent id): stale entries are skipped at the top."""

    def __init__(self) -> None:
        super().__init__()
        self._heap: list[tuple[Any, ...]] = []
        self._live: dict[AgentId, tuple[Any, ...]] = {}

    @abstractmethod
    def _key(self, agent: Agent) -> tuple[Any, ...]: ...

    def _keyed(self, agent: Agent) -> None:
        entry = (*self._key(agent), agent.id)
        if self._live.get(agent.id) != entry:
            self._live[agent.id] = entry
            heapq.heappush(self._heap, entry)
            if len(self._heap) > 2 * len(self._live) + 1024:
                self._heap = list(self._live.values())
                heapq.heapify(self._heap)

    def _removed(self, agent: Agent) -> None:
        del self._live[agent.id]

    def pick(self) -> Agent | None:
        heap, live = self._heap, self._live
        while heap:
            entry = heap[0]
            if live.get(entry[-1]) == entry:
                return self._agents[entry[-1]]
            heapq.heappop(heap)
        return None


class LeastBusy(_HeapPicker):
    """Fewest threads, then longest since the last assignment (R2 default)."""

    strategy = Strategy.LEAST_BUSY

    def _key(self, agent: Agent) -> tuple[Any, ...]:
        return (len(agent.threads), agent.last_assigned_at)


class LongestIdle(_HeapPicker):
    """Longest since the agent last got or released work, or became active, whatever the load."""

    strategy = Strategy.LONGEST_IDLE

    def _key(self, agent: Agent) -> tuple[Any, ...]:
        return (agent.idle_since,)


class RoundRobin(Picker):
    """Agents in id order, each pick starting after the last agent picked."""

    strategy = Strategy.ROUND_ROBIN

    def __init__(self) -> None:
        super().__init__()
        self._ids: list[AgentId] = []
        self.last: AgentId = -1  # the agent picked last; kept across a restart

    def _keyed(self, agent: Agent) -> None:
        i = bisect.bisect_left(self._ids, agent.id)
        if i == len(self._ids) or self._ids[i] != agent.id:
            self._ids.insert(i, agent.id)

    def _removed(self, agent: Agent) -> None:
        i = bisect.bisect_left(self._ids, agent.id)
        del self._ids[i]

    def pick(self) -> Agent | None:
        if not self._ids:
            return None
        i = bisect.bisect_right(self._ids, self.last)
        agent_id = self._ids[i if i < len(self._ids) else 0]
        self.last = agent_id
        return self._agents[agent_id]


_PICKERS: dict[Strategy, type[LeastBusy] | type[LongestIdle] | type[RoundRobin]] = {
    Strategy.LEAST_BUSY: LeastBusy,
    Strategy.LONGEST_IDLE: LongestIdle,
    Strategy.ROUND_ROBIN: RoundRobin,
}


def picker_for(strategy: Strategy) -> Picker:
    return _PICKERS[strategy]()
