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
class Connect:
    """S8: the agent's first event stream on `instance` opened (each instance counts its own
    streams). "" is the one instance of a service that runs alone."""

    agent_id: AgentId
    instance: str = ""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """S8: the agent's last event stream on `instance` closed."""

    agent_id: AgentId
    instance: str = ""


@dataclass(frozen=True, slots=True)
class DropInstance:
    """S8: `instance` is gone (it died), and every stream that was open on it with it. An
    agent who has no stream left anywhere is disconnected from now, as by a Disconnect."""

    instance: str


@dataclass(frozen=True, slots=True)
class ResetConnections:
    """S8: the service started, so no stream is open: whoever was connected is now
    disconnected, and their grace runs from now."""


@dataclass(frozen=True, slots=True)
class ReportInput:
    """S8 idle_timeout: a page says its person is still there."""

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
    """R8. The engine holds no thread's message list (500,000 open threads would hold
    millions of ids for this one check): the caller says which thread the message was
    written in, as the messages table says, and the engine checks it is this thread.
    A message never moves between threads, so that answer cannot go stale."""

    thread_id: ThreadId
    message_id: MessageId
    agent_id: AgentId
    pinned: bool = True
    message_thread_id: ThreadId | None = None  # the message's own thread; None: no such message


@dataclass(frozen=True, slots=True)
class AddReason:
    code: str
    label: str
    requires_approval: bool = False
    max_minutes: int | None = None  # S10: None: no limit


@dataclass(frozen=True, slots=True)
class ChangeReason:
    """None leaves a field as it is; `clear_max_minutes` removes the reason's time limit (S10)."""

    code: str
    label: str | None = None
    requires_approval: bool | None = None
    max_minutes: int | None = None
    clear_max_minutes: bool = False


@dataclass(frozen=True, slots=True)
class RetireReason:
    code: str


@dataclass(frozen=True, slots=True)
class ChangeSettings:
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendChatMessage:
    """C1: a message from `sender_id` (a user) in a conversation (domain/chat.py), which may
    point to a thread (a consultation). Who may write there is the caller's check."""

    conversation_id: str
    sender_id: int
    text: str
    thread_id: ThreadId | None = None
    sender_name: str = ""  # as the pages show it, at the moment of writing


@dataclass(frozen=True, slots=True)
class MarkChatRead:
    """C1: `user_id` has read the conversation up to message `up_to`."""

    conversation_id: str
    user_id: int
    up_to: int


Command = (
    RegisterAgent
    | ChangeAgent
    | Login
    | Logout
    | SetStatus
    | DecideApproval
    | ContinueWorking
    | Connect
    | Disconnect
    | DropInstance
    | ResetConnections
    | ReportInput
    | ReceiveClientMessage
    | Answer
    | CloseThread
    | Transfer
    | PinMessage
    | AddReason
    | ChangeReason
    | RetireReason
    | ChangeSettings
    | SendChatMessage
    | MarkChatRead
)
