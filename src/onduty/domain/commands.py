"""Commands: what someone asks the engine to do. Named as orders; plain data.

Times never travel inside a command: the engine takes `now` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, dataclass_transform

from onduty.domain.types import Actor, AgentId, ClientId, MessageId, RequestId, State, ThreadId

_C = TypeVar("_C")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def command(cls: type[_C]) -> type[_C]:
    """A command class: a slotted dataclass, frozen for the type checker, plain at run time.

    Commands are never changed after they are made, and `mypy --strict` (which reads this
    decorator as `frozen=True`) rejects any assignment to a field. At run time a frozen
    dataclass would set each field through `object.__setattr__` (~100 ns a field on CPython
    3.11): building the three commands of a simulated thread cost ~1 µs, a tenth of the whole
    simulator run (issue 6). Equality and the hash are those of a frozen dataclass.
    """
    return dataclass(slots=True, unsafe_hash=True)(cls)


@command
class RegisterAgent:
    agent_id: AgentId
    team: str
    capacity: int | None = None  # None: the workspace's default_capacity
    name: str = ""
    username: str = ""


@command
class ChangeAgent:
    """Change an agent's team and/or capacity. `capacity=None` with `reset_capacity` restores the default."""

    agent_id: AgentId
    team: str | None = None
    capacity: int | None = None
    reset_capacity: bool = False


@command
class Login:
    agent_id: AgentId


@command
class Logout:
    agent_id: AgentId
    actor: Actor


@command
class SetStatus:
    agent_id: AgentId
    state: State
    reason: str | None
    actor: Actor


@command
class DecideApproval:
    request_id: RequestId
    approve: bool
    actor: Actor


@command
class ContinueWorking:
    agent_id: AgentId


@command
class Connect:
    """S8: the agent's first event stream opened (the service counts the streams)."""

    agent_id: AgentId


@command
class Disconnect:
    """S8: the agent's last event stream closed."""

    agent_id: AgentId


@command
class ResetConnections:
    """S8: the service started, so no stream is open: whoever was connected is now
    disconnected, and their grace runs from now."""


@command
class ReportInput:
    """S8 idle_timeout: a page says its person is still there."""

    agent_id: AgentId


@command
class ReceiveClientMessage:
    """A client wrote: opens a thread, or adds to the client's open one."""

    client_id: ClientId
    text: str
    priority: int = 0


@command
class Answer:
    thread_id: ThreadId
    agent_id: AgentId
    text: str


@command
class CloseThread:
    thread_id: ThreadId
    actor: Actor


@command
class Transfer:
    thread_id: ThreadId
    to_agent_id: AgentId
    actor: Actor


@command
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


@command
class AddReason:
    code: str
    label: str
    requires_approval: bool = False


@command
class ChangeReason:
    code: str
    label: str | None = None
    requires_approval: bool | None = None


@command
class RetireReason:
    code: str


@command
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
    | Connect
    | Disconnect
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
)
