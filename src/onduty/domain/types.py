"""The domain's small vocabulary: ids, instants, states, who acts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

AgentId = int
ThreadId = int
MessageId = int
RequestId = int
ClientId = str
# Seconds on whatever clock the caller runs: POSIX time in the service,
# virtual seconds in the simulator. The domain never reads a clock itself.
Instant = float
Seconds = float


class State(enum.StrEnum):
    OFFLINE = "offline"
    NOT_READY = "not_ready"
    ACTIVE = "active"
    ACTIVE_OWN_CLIENTS = "active_own_clients"
    FINISHING = "finishing"
    INACTIVE = "inactive"
    KICKED_OUT = "kicked_out"


class ThreadState(enum.StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Strategy(enum.StrEnum):
    LEAST_BUSY = "least_busy"
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"


class OnLogout(enum.StrEnum):
    REQUEUE = "requeue"
    KEEP = "keep"


class Presence(enum.StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


ActorKind = Literal["agent", "supervisor", "admin", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused a change (S7): an agent, a named supervisor or admin, or the system and why."""

    kind: ActorKind
    id: int | None = None
    why: str | None = None

    @staticmethod
    def agent(agent_id: AgentId) -> Actor:
        return Actor("agent", agent_id)

    @staticmethod
    def supervisor(user_id: int) -> Actor:
        return Actor("supervisor", user_id)

    @staticmethod
    def admin(user_id: int) -> Actor:
        return Actor("admin", user_id)

    @staticmethod
    def system(why: str) -> Actor:
        return Actor("system", None, why)


# Why the system changed something; these strings are part of the status log (S7, P1).
WHY_KICKED_OUT = "kicked_out"
WHY_FINISHING_COMPLETED = "finishing_completed"
WHY_LOGIN_RESTORE = "login_restore"
WHY_DISCONNECTED = "disconnected"  # S8: no event stream open for disconnect_grace
WHY_IDLE = "idle"  # S8: no input reported for idle_timeout
WHY_RECONNECTED = "reconnected"  # S8: back within return_window; the status before comes back
