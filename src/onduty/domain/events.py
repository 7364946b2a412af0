"""Events: what happened, in the past tense. Every event carries `at`, the engine's `now`.

`name` is the event's public name on the wire (API.md); events without a
public name there are still journaled and published under their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from onduty.domain.types import (
    Actor,
    AgentId,
    ClientId,
    Instant,
    MessageId,
    RequestId,
    State,
    ThreadId,
)


@dataclass(slots=True)
class Event:
    name: ClassVar[str] = "event"
    at: Instant


@dataclass(slots=True)
class AgentRegistered(Event):
    name: ClassVar[str] = "agent.registered"
    agent_id: AgentId
    team: str
    capacity: int | None


@dataclass(slots=True)
class AgentChanged(Event):
    name: ClassVar[str] = "agent.changed"
    agent_id: AgentId
    team: str
    capacity: int | None


@dataclass(slots=True)
class StatusChanged(Event):
    """One row of the status log (S7)."""

    name: ClassVar[str] = "agent.status_changed"
    agent_id: AgentId
    from_state: State
    from_reason: str | None
    to_state: State
    to_reason: str | None
    actor: Actor


@dataclass(slots=True)
class AgentPrompted(Event):
    """S6: "continue working?" — answer before `deadline` or be kicked out."""

    name: ClassVar[str] = "agent.prompted"
    agent_id: AgentId
    deadline: Instant


@dataclass(slots=True)
class PromptCleared(Event):
    name: ClassVar[str] = "agent.prompt_cleared"
    agent_id: AgentId
    why: str  # continued | answered | no_unanswered_threads | status_changed


@dataclass(slots=True)
class AgentOverdue(Event):
    """S10: the agent has been longer than `max_minutes` in `inactive` with `reason`, which
    they entered at `since`. Said once; it changes nothing else."""

    name: ClassVar[str] = "agent.overdue"
    agent_id: AgentId
    reason: str
    since: Instant
    max_minutes: int


@dataclass(slots=True)
class AgentConnected(Event):
    """S8: the agent's first event stream opened."""

    name: ClassVar[str] = "agent.connected"
    agent_id: AgentId


@dataclass(slots=True)
class AgentDisconnected(Event):
    """S8: the agent's last event stream closed; `deadline` is when the grace ends (None:
    the rule will not move them, e.g. disconnect_grace is 0 or they are offline)."""

    name: ClassVar[str] = "agent.disconnected"
    agent_id: AgentId
    deadline: Instant | None


@dataclass(slots=True)
class RoutingTrace:
    """Why a thread went where it went (answers "why did this go to Bob?")."""

    strategy: str  # least_busy | longest_idle | round_robin | affinity
    eligible: int  # agents that could have taken it at that moment
    load: int  # threads the chosen agent held just before
    idle_seconds: float  # since the chosen agent last got or released work, or became active


@dataclass(slots=True)
class ThreadCreated(Event):
    name: ClassVar[str] = "thread.created"
    thread_id: ThreadId
    client_id: ClientId
    priority: int
    reserved_for: AgentId | None  # R4: waiting for the client's own agent


@dataclass(slots=True)
class MessageAdded(Event):
    name: ClassVar[str] = "thread.message_added"
    thread_id: ThreadId
    message_id: MessageId
    author: str  # client | agent
    agent_id: AgentId | None
    text: str


@dataclass(slots=True)
class ThreadAssigned(Event):
    name: ClassVar[str] = "thread.assigned"
    thread_id: ThreadId
    agent_id: AgentId
    trace: RoutingTrace


@dataclass(slots=True)
class ThreadAnswered(Event):
    """The holder's first answer: assigned -> in_progress."""

    name: ClassVar[str] = "thread.answered"
    thread_id: ThreadId
    agent_id: AgentId


@dataclass(slots=True)
class ThreadRequeued(Event):
    name: ClassVar[str] = "thread.requeued"
    thread_id: ThreadId
    agent_id: AgentId | None  # who held or awaited it
    why: str  # reclaimed | kicked_out | logout | affinity_wait_over


@dataclass(slots=True)
class ThreadTransferred(Event):
    name: ClassVar[str] = "thread.transferred"
    thread_id: ThreadId
    from_agent_id: AgentId | None
    to_agent_id: AgentId
    actor: Actor


@dataclass(slots=True)
class ThreadClosed(Event):
    name: ClassVar[str] = "thread.closed"
    thread_id: ThreadId
    agent_id: AgentId | None
    actor: Actor
    client_id: ClientId
    client_owner: AgentId | None  # R4: whose client this is from now on, if anyone's


@dataclass(slots=True)
class MessagePinned(Event):
    name: ClassVar[str] = "thread.message_pinned"
    thread_id: ThreadId
    message_id: MessageId
    agent_id: AgentId
    pinned: bool


@dataclass(slots=True)
class ApprovalRequested(Event):
    name: ClassVar[str] = "approval.requested"
    request_id: RequestId
    agent_id: AgentId
    state: State
    reason: str


@dataclass(slots=True)
class ApprovalDecided(Event):
    name: ClassVar[str] = "approval.decided"
    request_id: RequestId
    agent_id: AgentId
    approved: bool
    actor: Actor


@dataclass(slots=True)
class ApprovalCancelled(Event):
    name: ClassVar[str] = "approval.cancelled"
    request_id: RequestId
    agent_id: AgentId
    why: str  # replaced | logged_out | reason_retired


@dataclass(slots=True)
class ReasonSaved(Event):
    """A reason added or changed (S1)."""

    name: ClassVar[str] = "reason.saved"
    code: str
    label: str
    requires_approval: bool
    retired: bool
    max_minutes: int | None = None  # S10


@dataclass(slots=True)
class SettingsChanged(Event):
    name: ClassVar[str] = "settings.changed"
    changes: dict[str, Any]


@dataclass(slots=True)
class ChatMessageSent(Event):
    """C1. `about_thread`: the thread it points to, told only to those who may see it (the
    journal's entry says only whether there is one)."""

    name: ClassVar[str] = "chat.message"
    message_id: int
    conversation_id: str
    sender_id: int
    text: str
    about_thread: ThreadId | None
    sender_name: str = ""


@dataclass(slots=True)
class ChatRead(Event):
    name: ClassVar[str] = "chat.read"
    conversation_id: str
    user_id: int
    up_to: int
