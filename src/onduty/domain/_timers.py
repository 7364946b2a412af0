"""Timers as data: deadlines in a heap; the owner of each kind says which are still live."""

from __future__ import annotations

import enum
import heapq

from onduty.domain.types import Instant


class TimerKind(enum.IntEnum):
    """Deadlines at the same instant fire in this order: an agent's absence first (S8: an
    agent who is gone is not asked whether they are still working), then S6's kick-out
    and prompt, then R4's waits, then S10's overdue marks."""

    GRACE = 1  # S8: an agent without an event stream for disconnect_grace
    IDLE = 2  # S8: an agent whose pages reported no input for idle_timeout
    PROMPT = 3  # S6: "continue working?" not confirmed in time
    RESPONSE = 4  # S6: an unanswered thread's response_timeout
    AFFINITY = 5  # R4: an own client's thread stops waiting for its agent
    OVERDUE = 6  # S10: an agent longer in a break than its reason's max_minutes (changes nothing else)


# Ordered by deadline, then kind, then key: deadlines that fall at the same instant fire in
# an order the state alone decides, so that an engine rebuilt from the database (a restart,
# a follower) fires them as the one that scheduled them. `seq` only tells duplicates apart.
_Entry = tuple[Instant, TimerKind, int, int]


class TimerHeap:
    """Deadlines in order. Entries are never removed early; the engine checks each
    popped one against the model (a rescheduled or cancelled timer is just stale)."""

    __slots__ = ("_seq", "entries")

    def __init__(self) -> None:
        # The heap itself: `entries[0]` is the earliest deadline, live or stale. The workspace
        # drops the stale ones from the top as it meets them (_presence.py).
        self.entries: list[_Entry] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self.entries)

    def push(self, deadline: Instant, kind: TimerKind, key: int) -> None:
        self._seq += 1
        heapq.heappush(self.entries, (deadline, kind, key, self._seq))

    def peek(self) -> _Entry | None:
        return self.entries[0] if self.entries else None

    def pop(self) -> _Entry:
        return heapq.heappop(self.entries)
