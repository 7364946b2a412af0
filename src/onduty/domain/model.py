"""The engine's state: agents, open threads, pending approval requests.

Closed threads and decided requests leave the model (storage keeps them), so
memory follows the open work, not the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from onduty.domain.types import (
    Actor,
    AgentId,
    ClientId,
    Instant,
    MessageId,
    RequestId,
    State,
    ThreadId,
    ThreadState,
)

NEVER = float("-inf")
_SYSTEM = Actor.system("created")


@dataclass(slots=True, eq=False)
class Agent:
    id: AgentId
    team: str
    capacity: int | None  # None: the workspace default
    name: str = ""
    username: str = ""
    state: State = State.OFFLINE
    reason: str | None = None  # for inactive, and the reason a finishing agent heads to
    since: Instant = 0.0
    set_by: Actor = _SYSTEM
    # Threads held, in the order they came; values unused (an ordered set).
    threads: dict[ThreadId, None] = field(default_factory=dict)
    # Held threads not answered yet -> when they were given to this agent (S6).
    unanswered: dict[ThreadId, Instant] = field(default_factory=dict)
    pinned: int = 0  # pinned messages in threads held (R8)
    # The status just before the last logout (S5); None before the first login.
    before_logout: tuple[State, str | None] | None = None
    ever_logged_in: bool = False
    last_assigned_at: Instant = NEVER
    # Last time this agent got or released work, or became active (longest_idle, trace).
    idle_since: Instant = NEVER
    # S6 clock start: entering a working state from outside it, or confirming "continue".
    working_since: Instant | None = None
    response_deadline: Instant | None = None
    prompt_deadline: Instant | None = None
    pending_request: RequestId | None = None
    # Own clients' new threads waiting for this agent (R4), in arrival order.
    reserved: dict[ThreadId, None] = field(default_factory=dict)
    # S8. `connected_on`: the instances on which at least one of the agent's event streams is
    # open (a set: its order decides nothing; connected = not empty). `stream_seen`: connected
    # at some point since the last login (only such agents are moved). `disconnected_at`: when
    # the last stream closed. `last_input`: the pages' last report of input. `away_from`/
    # `away_at`: the status the system moved the agent out of, and when, for the return;
    # cleared when anybody else changes the status.
    connected_on: frozenset[str] = frozenset()
    stream_seen: bool = False
    disconnected_at: Instant | None = None
    last_input: Instant | None = None
    away_from: tuple[State, str | None] | None = None
    away_at: Instant | None = None
    grace_deadline: Instant | None = None
    idle_deadline: Instant | None = None
    # S10: when the agent is (or will be) overdue in their break: `since` plus the reason's
    # max_minutes, while inactive in a reason with a limit; None otherwise. `overdue`: that
    # moment has come (the timer fired, or had fired before a restart).
    overdue_at: Instant | None = None
    overdue: bool = False

    @property
    def load(self) -> int:
        return len(self.threads)

    @property
    def connected(self) -> bool:
        """S8: at least one event stream of theirs is open, on any instance."""
        return bool(self.connected_on)


@dataclass(slots=True, eq=False)
class Thread:
    id: ThreadId
    client_id: ClientId
    created_at: Instant  # arrival: keeps its place in the queue when requeued
    priority: int = 0
    state: ThreadState = ThreadState.QUEUED
    agent_id: AgentId | None = None
    assigned_at: Instant | None = None
    # Few per thread, and none in most: a tuple, so the common empty one is shared (500,000
    # open threads would otherwise hold 500,000 empty lists); a pin makes a new tuple.
    pinned: tuple[MessageId, ...] = ()
    reserved_for: AgentId | None = None  # R4 wait
    reserve_deadline: Instant | None = None
    # R5 deferred by R6: reclaim as soon as somebody is eligible.
    reclaim_pending: bool = False
    queue_seq: int = 0  # which queue entry is the live one
    answered_once: bool = False  # someone answered this thread at some point


@dataclass(slots=True, eq=False)
class ApprovalRequest:
    id: RequestId
    agent_id: AgentId
    state: State
    reason: str
    created_at: Instant
