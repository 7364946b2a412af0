"""Commands: what someone asks the engine to do. Named as orders; plain data.

Times never travel inside a command: the engine takes `now` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from onduty.domain.types import Actor, AgentId, ClientId, MessageId, RequestId, State, ThreadId


@dataclass(frozen=True, slots=True)
class RegisterAgent:
    agent_id: AgentId
    team: str
    capacity: int | None = None  # None: the workspace's default_capacity
    name: str = ""
    username: str = ""


@dataclass(frozen=True, slots=True)
class ChangeAgent:
    """Change an agent's team and/or capacity. `capacity=None` with `reset_capacity` restores the default."""

    agent_id: AgentId
    team: str | None = None
    capacity: int | None = None
    reset_capacity: bool = False


@dataclass(frozen=True, slots=True)
class Login:
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class Logout:
    agent_id: AgentId
    actor: Actor


@dataclass(frozen=True, slots=True)
class SetStatus:
    agent_id: AgentId
    state: State
    reason: str | None
    actor: Actor


@dataclass(frozen=True, slots=True)
class DecideApproval:
    request_id: RequestId
    approve: bool
    actor: Actor


@dataclass(frozen=True, slots=True)
class ContinueWorking:
    agent_id: AgentId


@dataclass(frozen=True, slots=True)
class ReceiveClientMessage:
    """A client wrote: opens a thread, or adds to the client's open one."""

    client_id: ClientId
    text: str
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    thread_id: ThreadId
    agent_id: AgentId
    text: str


@dataclass(frozen=True, slots=True)
class CloseThread:
    thread_id: ThreadId
    actor: Actor


@dataclass(frozen=True, slots=True)
class Transfer:
    thread_id: ThreadId
    to_agent_id: AgentId
    actor: Actor


@dataclass(frozen=True, slots=True)
class PinMessage:
    thread_id: ThreadId
    message_id: MessageId
    agent_id: AgentId
    pinned: bool = True


@dataclass(frozen=True, slots=True)
class AddReason:
    code: str
    label: str
    requires_approval: bool = False


@dataclass(frozen=True, slots=True)
class ChangeReason:
    code: str
    label: str | None = None
    requires_approval: bool | None = None


@dataclass(frozen=True, slots=True)
class RetireReason:
    code: str


@dataclass(frozen=True, slots=True)
class ChangeSettings:
    changes: dict[str, Any] = field(default_factory=dict)


Command = (
    RegisterAgent
    | ChangeAgent
    | Login
    | Logout
    | SetStatus
    | DecideApproval
    | ContinueWorking
    | ReceiveClientMessage
    | Answer
    | CloseThread
    | Transfer
    | PinMessage
    | AddReason
    | ChangeReason
    | RetireReason
    | ChangeSettings
)
