"""Timers as data: deadlines in a heap; the owner of each kind says which are still live."""

from __future__ import annotations

import enum
import heapq

from onduty.domain.types import Instant


class TimerKind(enum.IntEnum):
    RESPONSE = 1  # S6: an unanswered thread's response_timeout
    PROMPT = 2  # S6: "continue working?" not confirmed in time
    AFFINITY = 3  # R4: an own client's thread stops waiting for its agent


_Entry = tuple[Instant, int, TimerKind, int]


class TimerHeap:
    """Deadlines in order. Entries are never removed early; the engine checks each
    popped one against the model (a rescheduled or cancelled timer is just stale)."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, deadline: Instant, kind: TimerKind, key: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, kind, key))

    def peek(self) -> _Entry | None:
        return self._heap[0] if self._heap else None

    def pop(self) -> _Entry:
        return heapq.heappop(self._heap)

    def rebuild(self, live: list[tuple[Instant, TimerKind, int]]) -> None:
        self._heap = []
        for deadline, kind, key in live:
            self.push(deadline, kind, key)
