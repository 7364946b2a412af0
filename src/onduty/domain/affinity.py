"""Own clients (R4): who last handled each client, and when."""

from __future__ import annotations

from collections import deque

from onduty.domain.types import AgentId, ClientId, Instant, Seconds


class ClientAffinity:
    """client -> (agent, when their last thread closed). Old entries are pruned as
    time passes, oldest first, so memory follows one affinity window of closures."""

    def __init__(self) -> None:
        self._last: dict[ClientId, tuple[AgentId, Instant]] = {}
        self._order: deque[tuple[Instant, ClientId]] = deque()

    def __len__(self) -> int:
        return len(self._last)

    def record(self, client_id: ClientId, agent_id: AgentId, at: Instant) -> None:
        self._last[client_id] = (agent_id, at)
        self._order.append((at, client_id))

    def forget(self, client_id: ClientId) -> None:
        self._last.pop(client_id, None)

    def owner(self, client_id: ClientId, now: Instant, timeout: Seconds) -> AgentId | None:
        entry = self._last.get(client_id)
        if entry is None or now - entry[1] > timeout:
            return None
        return entry[0]

    def prune(self, now: Instant, timeout: Seconds) -> None:
        order, last = self._order, self._last
        while order and now - order[0][0] > timeout:
            at, client_id = order.popleft()
            entry = last.get(client_id)
            if entry is not None and entry[1] == at:
                del last[client_id]

    def items(self) -> list[tuple[ClientId, AgentId, Instant]]:
        return [(c, a, t) for c, (a, t) in self._last.items()]
