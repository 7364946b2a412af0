"""What each state means for routing, presence and display (section 1 of PRODUCT.md)."""

from __future__ import annotations

from onduty.domain.reasons import CODE_PATTERN
from onduty.domain.types import Presence, State

# States in which an agent is "working": S6 watches them, R5 and S3 hinge on them.
WORKING = frozenset({State.ACTIVE, State.ACTIVE_OWN_CLIENTS, State.FINISHING})
# States that take new threads: from the queue (active) or own clients only (R4).
TAKES_OWN_CLIENTS = frozenset({State.ACTIVE, State.ACTIVE_OWN_CLIENTS})

PRESENCE: dict[State, Presence] = {
    State.ACTIVE: Presence.ONLINE,
    State.ACTIVE_OWN_CLIENTS: Presence.ONLINE,
    State.FINISHING: Presence.ONLINE,
    State.NOT_READY: Presence.AWAY,
    State.INACTIVE: Presence.AWAY,
    State.KICKED_OUT: Presence.AWAY,
    State.OFFLINE: Presence.OFFLINE,
}

STATE_LABELS: dict[State, str] = {
    State.OFFLINE: "Offline",
    State.NOT_READY: "Not ready",
    State.ACTIVE: "Active",
    State.ACTIVE_OWN_CLIENTS: "Active (doesn't receive threads)",
    State.FINISHING: "Active (finishing)",
    State.KICKED_OUT: "Inactive (kicked out)",
}
ACTIVE_FREE_LABEL = "Active (free)"
# How the workload report (P2) keys time spent on a break: `inactive:lunch`.
REASON_KEY_PREFIX = "inactive:"
_STATE_NAMES = frozenset(state.value for state in State)
# The status log's filter (P1): a state, a reason code, or `inactive:<reason code>`.
STATUS_FILTER_PATTERN = f"^(?:{REASON_KEY_PREFIX})?{CODE_PATTERN.removeprefix('^')}"


def status_label(state: State, reason_label: str | None, threads_held: int) -> str:
    """The status as people see it (W1): reasons show their own label."""
    if state is State.INACTIVE:
        return reason_label or "Inactive"
    if state is State.ACTIVE and threads_held == 0:
        return ACTIVE_FREE_LABEL
    if state is State.FINISHING and reason_label:
        return f"Active (finishing → {reason_label})"  # W1: where they are heading
    return STATE_LABELS[state]


def presence_of(state: State) -> Presence:
    return PRESENCE[state]


def state_and_reason(status: str) -> tuple[State, str | None]:
    """A status filter as a state and, for a break, its reason code: a state (a break for
    any reason when `inactive`), `inactive:<code>` as the workload's keys write it, or a
    bare reason code as `GET /agents?status=` takes it. Reason codes never take a state's
    name (RESERVED_CODES), so the three cannot be confused; whether the reason exists is
    the catalogue's to say."""
    if status.startswith(REASON_KEY_PREFIX):
        return State.INACTIVE, status.removeprefix(REASON_KEY_PREFIX)
    if status in _STATE_NAMES:
        return State(status), None
    return State.INACTIVE, status
