"""Checks on the plain input values of commands, shared by the handlers.

The readers at the top take the whole command and read its fields here. A
field's type is not trusted (a command can be built by any caller, and a
`True` priority is an int to Python): a bad value gets a `DomainError` naming
the field.
"""

from __future__ import annotations

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.settings import MAX_CAPACITY
from onduty.domain.types import ClientId

MAX_TEXT = 10_000
MAX_CLIENT_ID = 200
MAX_TEAM = 80
MAX_PRIORITY = 1000
MAX_INSTANCE = 80  # the instances table's id


def client_message(cmd: c.ReceiveClientMessage) -> tuple[ClientId, str, int]:
    """The message's client id, text and priority, checked."""
    return client_id(cmd.client_id), text(cmd.text), priority(cmd.priority)


def answer_text(cmd: c.Answer) -> str:
    return text(cmd.text)


def new_agent(cmd: c.RegisterAgent) -> tuple[str, int | None]:
    """The new agent's team and capacity, checked."""
    return team(cmd.team), capacity(cmd.capacity)


def agent_change(cmd: c.ChangeAgent) -> tuple[str | None, int | None]:
    """The change's team and capacity, each checked when given (None: not changed by it)."""
    return (
        None if cmd.team is None else team(cmd.team),
        None if cmd.capacity is None else capacity(cmd.capacity),
    )


def text(value: object, field: str = "text") -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(f"{field} must not be empty", field=field)
    if len(value) > MAX_TEXT:
        raise DomainError(f"{field} must be at most {MAX_TEXT} characters", field=field)
    return value


def client_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError("client_id must not be empty", field="client_id")
    if len(value) > MAX_CLIENT_ID:
        raise DomainError(f"client_id must be at most {MAX_CLIENT_ID} characters", field="client_id")
    return value


def team(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError("team must not be empty", field="team")
    if len(value) > MAX_TEAM:
        raise DomainError(f"team must be at most {MAX_TEAM} characters", field="team")
    return value.strip()


def capacity(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
        raise DomainError(f"capacity must be a whole number from 1 to {MAX_CAPACITY}", field="capacity")
    return value


def priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_PRIORITY <= value <= MAX_PRIORITY:
        raise DomainError(f"priority must be a whole number from {-MAX_PRIORITY} to {MAX_PRIORITY}", field="priority")
    return value


def instance(value: object) -> str:
    """An instance's id (S8: where a stream is open); "" is the one instance of a service alone."""
    if not isinstance(value, str):
        raise DomainError("instance must be a string", field="instance")
    if len(value) > MAX_INSTANCE:
        raise DomainError(f"instance must be at most {MAX_INSTANCE} characters", field="instance")
    return value
