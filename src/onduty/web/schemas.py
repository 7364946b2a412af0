"""The API's shapes on the wire (msgspec Structs): strict in, documented out.

Input structs reject unknown fields and wrong types with a message that names
the field; output structs are what the OpenAPI document publishes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from onduty.domain.chat import MAX_CHAT_TEXT, MAX_CONVERSATION_ID
from onduty.domain.reasons import CODE_PATTERN, MAX_MINUTES
from onduty.domain.settings import MAX_CAPACITY, MIN_TIMEOUT, SERVICE_LEVEL_TARGET_RANGE, TIMEOUT_MAX, ZONE_PATTERN
from onduty.domain.validate import MAX_CLIENT_ID, MAX_PRIORITY, MAX_TEAM, MAX_TEXT

# The widest ids there are: people's (users and agents) and approval requests' are INTEGER
# columns, 32 bits on PostgreSQL; threads', messages' and the status log's are BIGINT. An id
# past them is bad input, said as such (asking the database would be an error, a 500); an
# id within them that nothing has is simply not there.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1

# No text may hold NUL (PostgreSQL cannot store it), and text the service strips is refused
# when nothing is left: a character that is neither.
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def documented(
    min_length: int | None = None, max_length: int | None = None, description: str | None = None, **schema: Any
) -> Meta:
    """A field whose rules the service checks itself, with messages that say them in words
    (the engine's, `strict_body`'s NUL check); the document says them as JSON Schema, and in
    `description` what JSON Schema cannot say."""
    return Meta(
        min_length=min_length, max_length=max_length, description=description, extra_json_schema={"extra": schema}
    )


StateName = Literal["offline", "not_ready", "active", "active_own_clients", "finishing", "inactive", "kicked_out"]
Text = Annotated[str, documented(1, MAX_TEXT, pattern=NOT_BLANK)]
Code = Annotated[str, documented(1, 40, pattern=CODE_PATTERN)]
Label = Annotated[str, documented(1, 80, pattern=NOT_BLANK)]
Name = Annotated[str, documented(1, 80, pattern=NO_NUL)]
Username = Annotated[
    str,
    documented(
        1,
        80,
        "Kept in one form: NFKC, case-folded, trimmed. No control, invisible, private-use or "
        "unassigned character, no whitespace but single spaces; one that looks like another "
        "user's (Unicode confusables) is refused.",
        pattern=NO_NUL,
    ),
]
TeamName = Annotated[str, documented(1, MAX_TEAM, pattern=NOT_BLANK)]
Password = Annotated[str, documented(1, 200, pattern=NO_NUL)]
Capacity = Annotated[int, Meta(ge=1, le=MAX_CAPACITY)]
Seconds = Annotated[float, documented(minimum=0, maximum=TIMEOUT_MAX)]
Timeout = Annotated[float, documented(minimum=MIN_TIMEOUT, maximum=TIMEOUT_MAX)]
SettingCapacity = Annotated[int, documented(minimum=1, maximum=MAX_CAPACITY)]
Role = Literal["agent", "supervisor", "admin", "integration"]
MaxMinutes = Annotated[
    int,
    documented(
        description="S10: an agent longer than this in the reason is overdue; null: no limit",
        minimum=1,
        maximum=MAX_MINUTES,
    ),
]


class _In(Struct, forbid_unknown_fields=True):
    pass


# -- in ---------------------------------------------------------------------------


class TokenRequest(_In):
    username: Username
    password: Password


class StatusRequest(_In):
    state: StateName
    reason: Code | None = None


class ClientMessageRequest(_In):
    client_id: Annotated[str, documented(1, MAX_CLIENT_ID, pattern=NOT_BLANK)]
    text: Text
    priority: Annotated[int, Meta(ge=-MAX_PRIORITY, le=MAX_PRIORITY)] = 0


class AnswerRequest(_In):
    text: Text


class TransferRequest(_In):
    agent_id: Annotated[int, Meta(ge=1, le=MAX_ID)]


class ReasonRequest(_In):
    code: Code
    label: Label
    requires_approval: bool = False
    max_minutes: MaxMinutes | None = None


class ReasonPatch(_In):
    label: Label | None = None
    requires_approval: bool | None = None
    # S10: null removes the limit, so it tells null from absent.
    max_minutes: MaxMinutes | UnsetType | None = UNSET


class OnDisconnect(_In, omit_defaults=True):
    """S8: {"state": "inactive", "reason": "<code>"} or {"state": "offline"}."""

    state: Literal["inactive", "offline"]
    reason: Code | None = None


class SettingsPatch(_In):
    response_timeout: Timeout | None = None
    prompt_timeout: Timeout | None = None
    client_affinity_timeout: Seconds | None = None
    affinity_wait: Seconds | None = None
    strategy: Literal["least_busy", "longest_idle", "round_robin"] | None = None
    on_logout: Literal["requeue", "keep"] | None = None
    default_capacity: SettingCapacity | None = None
    time_zone: Annotated[str, documented(1, 64, pattern=ZONE_PATTERN)] | None = None
    # S8: null turns these three off (as 0 does), so they tell null from absent.
    disconnect_grace: Seconds | UnsetType | None = UNSET
    return_window: Seconds | UnsetType | None = UNSET
    idle_timeout: Seconds | UnsetType | None = UNSET
    on_disconnect: OnDisconnect | None = None
    service_level_target: (
        Annotated[
            float,
            documented(
                description="W5: seconds from a thread's arrival to an agent that count as within the service level",
                minimum=SERVICE_LEVEL_TARGET_RANGE[0],
                maximum=SERVICE_LEVEL_TARGET_RANGE[1],
            ),
        ]
        | None
    ) = None

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, value in msgspec.structs.asdict(self).items():
            if name in _OFF_BY_NULL and value is not UNSET:
                changes[name] = value
            elif value is not None and value is not UNSET:
                changes[name] = msgspec.structs.asdict(value) if isinstance(value, OnDisconnect) else value
        return changes


_OFF_BY_NULL = frozenset({"disconnect_grace", "return_window", "idle_timeout"})


class UserRequest(_In):
    username: Username
    role: Role
    password: Annotated[str, documented(8, 200, pattern=NO_NUL)] | None = None
    name: Annotated[str, documented(None, 120, pattern=NO_NUL)] | None = None
    team: TeamName | None = None
    capacity: Capacity | None = None


class AgentPatch(_In):
    team: TeamName | None = None
    capacity: Capacity | None = None
    reset_capacity: bool = False


# -- out --------------------------------------------------------------------------


class ErrorBody(Struct):
    code: str
    message: str
    field: str | None = None


class FieldError(Struct):
    field: str | None
    message: str


class ErrorResponse(Struct):
    error: ErrorBody
    # A 400 about a request's fields: every invalid one, the first being `error`.
    errors: list[FieldError] | UnsetType = UNSET


class Actor(Struct):
    kind: Literal["agent", "supervisor", "admin", "system"]
    id: int | None
    why: str | None = None


class Status(Struct):
    state: StateName
    reason: str | None
    label: str
    since: str | None
    set_by: Actor


class Requested(Struct):
    state: StateName
    reason: str


class ApprovalRequest(Struct):
    id: int
    agent_id: int
    state: Literal["pending", "approved", "rejected", "cancelled"]
    requested: Requested
    created_at: str | None
    decided_by: Actor | None
    decided_at: str | None
    why: str | None = None


class Agent(Struct):
    id: int
    username: str
    name: str
    team: str
    capacity: int
    status: Status
    presence: Literal["online", "away", "offline"]
    threads: int
    unanswered_threads: int
    pinned_messages: int
    connected: bool
    pending_request: ApprovalRequest | None
    prompt_deadline: str | None
    disconnect_deadline: str | None
    overdue: bool  # S10: longer in their break than its reason's max_minutes
    overdue_at: str | None  # S10: when they are (or will be) overdue; null outside a limited break


class User(Struct):
    id: int
    username: str
    name: str
    role: Role
    team: str | None


class Me(Struct):
    id: int
    username: str
    name: str
    role: Role
    team: str | None
    agent: Agent | None = None
    status: Status | None = None


class TokenResponse(Struct):
    token: str
    user: User


class CreatedUser(Struct):
    id: int
    username: str
    role: Role
    token: str


class Message(Struct):
    id: int
    author: Literal["client", "agent"]
    agent_id: int | None
    text: str
    at: str | None
    pinned: bool


class Thread(Struct):
    id: int
    client_id: str
    state: Literal["queued", "assigned", "in_progress", "closed"]
    agent_id: int | None
    created_at: str | None
    priority: int
    messages: list[Message]
    closed_at: str | None = None


class ThreadPage(Struct):
    items: list[Thread]
    next: int | None


class QueueEntry(Struct):
    id: int
    client_id: str
    priority: int
    created_at: str | None
    waiting_seconds: float
    reserved_for: int | None


class Queue(Struct):
    length: int  # threads in the general queue
    waiting_for_owner: int  # R4: threads waiting for their own agent, listed after the queue
    oldest_wait_seconds: float | None
    routing_halted: bool  # R6: threads wait and nobody is eligible
    # W5: what happens to a thread arriving now: flowing (someone has room), halted (R6:
    # nobody is active) or at_capacity (every active agent is full).
    routing: Literal["flowing", "halted", "at_capacity"]
    items: list[QueueEntry]


class FloorQueue(Struct):
    length: int  # threads in the general queue
    oldest_wait_seconds: float | None
    routing: Literal["flowing", "halted", "at_capacity"]  # as /queue answers it


class FloorToday(Struct):
    """Today so far, in the workspace's time zone: the workload report's totals (P2)."""

    received: int
    answered: int
    mean_first_answer_seconds: float | None
    service_level: float | None  # share of received threads that reached an agent within the target; null: none
    service_level_target: float


class Floor(Struct):
    # A state, active_free, inactive:<reason> (every reason that can be chosen, zeros too) or
    # overdue -> how many agents `GET /agents?status=` lists for it (inactive:<code>: `status=<code>`).
    counts: dict[str, int]
    queue: FloorQueue
    today: FloorToday


class Reason(Struct):
    code: str
    label: str
    requires_approval: bool
    retired: bool
    built_in: bool
    max_minutes: int | None  # S10: null: no limit


class Settings(Struct):
    response_timeout: float
    prompt_timeout: float
    client_affinity_timeout: float
    affinity_wait: float
    strategy: Literal["least_busy", "longest_idle", "round_robin"]
    on_logout: Literal["requeue", "keep"]
    default_capacity: int
    time_zone: str
    disconnect_grace: float
    return_window: float
    idle_timeout: float
    on_disconnect: OnDisconnectStatus
    service_level_target: float  # W5, seconds


class OnDisconnectStatus(Struct, omit_defaults=True):
    state: Literal["inactive", "offline"]
    reason: str | None = None


class Presence(Struct):
    agent_id: int
    presence: Literal["online", "away", "offline"]
    status: Status
    name: str
    username: str
    team: str
    threads: int
    capacity: int


class Pong(Struct):
    ok: bool


class Health(Struct, omit_defaults=True):
    status: Literal["ok"]
    database: str
    # Under several instances (`serve --redis`) only: this instance's part, the lease's epoch
    # (the owner's, as this instance last saw it, on a follower), the last event its state holds.
    role: Literal["owner", "follower"] | None = None
    epoch: int | None = None
    applied_event_id: int | None = None


class StatusRef(Struct):
    state: StateName
    reason: str | None
    label: str


class LogActor(Struct):
    kind: Literal["agent", "supervisor", "admin", "system"]
    id: int | None
    name: str | None
    why: str | None


class StatusLogEntry(Struct):
    id: int
    at: str | None
    agent_id: int
    username: str
    name: str
    team: str
    from_: StatusRef = msgspec.field(name="from")
    to: StatusRef
    caused_by: str
    actor: LogActor


class StatusLogPage(Struct):
    from_: str | None = msgspec.field(name="from")
    to: str | None
    items: list[StatusLogEntry]
    next: int | None


class WorkloadTotals(Struct):
    time_in_status: dict[str, float]
    threads_received: int
    threads_answered: int
    threads_closed: int
    transferred_in: int
    transferred_out: int
    requeued: int
    mean_first_answer_seconds: float | None
    occupancy: float | None


class WorkloadAgent(WorkloadTotals):
    agent_id: int
    username: str
    name: str
    team: str


class WorkloadTeam(WorkloadTotals):
    team: str


class WorkloadReport(Struct):
    from_: str | None = msgspec.field(name="from")
    to: str | None
    until: str | None  # where open statuses were counted up to: the end, or now
    time_zone: str
    labels: dict[str, str]
    agents: list[WorkloadAgent]
    teams: list[WorkloadTeam]


class EventTicket(Struct):
    ticket: str  # opens GET /api/v1/events?ticket=… once
    expires_at: str


# -- internal chat (C1) ---------------------------------------------------------------

ConversationId = Annotated[
    str, documented(1, MAX_CONVERSATION_ID, "A conversation's id, as GET /chat/conversations gives it", pattern=NO_NUL)
]


class ChatMessageRequest(_In):
    """To a conversation (`conversation_id`) or to a person (`to_user_id`: the direct
    conversation with them, opened by its first message): one of the two."""

    text: Annotated[str, documented(1, MAX_CHAT_TEXT, pattern=NOT_BLANK)]
    conversation_id: ConversationId | None = None
    to_user_id: Annotated[int, Meta(ge=1, le=MAX_ID)] | None = None
    thread_id: Annotated[int, Meta(ge=1, le=MAX_BIG_ID, description="A thread it is about (a consultation)")] | None = (
        None
    )


class ChatReadRequest(_In):
    up_to: Annotated[int, Meta(ge=1, le=MAX_BIG_ID, description="The last message read")]


class ChatPerson(Struct):
    user_id: int
    name: str
    role: str
    team: str | None
    presence: Literal["online", "away", "offline"] | None  # W4; None: no status (not an agent)
    status: Status | None


class ChatThread(Struct):
    """The thread a message points to: shown only to a reader who may open it."""

    visible: bool
    id: int | None = None
    client_id: str | None = None
    state: str | None = None
    agent_id: int | None = None


class ChatMessage(Struct):
    id: int
    conversation_id: str
    sender_id: int
    sender_name: str
    text: str
    at: str
    thread: ChatThread | None


class ChatConversation(Struct):
    id: str
    kind: Literal["direct", "team"]
    title: str
    team: str | None
    members: list[ChatPerson]
    unread: int
    up_to: int
    last_message: ChatMessage | None


class ChatMessagePage(Struct):
    items: list[ChatMessage]
    next: int | None


class ChatReadState(Struct):
    conversation_id: str
    up_to: int
    unread: int
