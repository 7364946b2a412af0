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

    def closed(self, client_id: ClientId, owner: AgentId | None, at: Instant, timeout: Seconds) -> None:
        """A client's thread closed: `owner` owns the client from `at` (None: nobody does).
        Entries older than `timeout` go at the same time, oldest first: one call for all of
        it, as it runs at every close."""
        order, last = self._order, self._last
        if owner is None:
            last.pop(client_id, None)
        else:
            last[client_id] = (owner, at)
            order.append((at, client_id))
        while order and at - order[0][0] > timeout:
            since, old_client = order.popleft()
            entry = last.get(old_client)
            if entry is not None and entry[1] == since:
                del last[old_client]

    def owner(self, client_id: ClientId, now: Instant, timeout: Seconds) -> AgentId | None:
        entry = self._last.get(client_id)
        if entry is None or now - entry[1] > timeout:
            return None
        return entry[0]

    def items(self) -> list[tuple[ClientId, AgentId, Instant]]:
        return [(c, a, t) for c, (a, t) in self._last.items()]
