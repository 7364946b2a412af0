"""Checks on plain input values shared by the handlers."""

from __future__ import annotations

from onduty.domain.errors import DomainError
from onduty.domain.settings import MAX_CAPACITY

MAX_TEXT = 10_000
MAX_CLIENT_ID = 200
MAX_TEAM = 80
MAX_PRIORITY = 1000


def text(value: str, field: str = "text") -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(f"{field} must not be empty", field=field)
    if len(value) > MAX_TEXT:
        raise DomainError(f"{field} must be at most {MAX_TEXT} characters", field=field)
    return value


def client_id(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError("client_id must not be empty", field="client_id")
    if len(value) > MAX_CLIENT_ID:
        raise DomainError(f"client_id must be at most {MAX_CLIENT_ID} characters", field="client_id")
    return value


def team(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError("team must not be empty", field="team")
    if len(value) > MAX_TEAM:
        raise DomainError(f"team must be at most {MAX_TEAM} characters", field="team")
    return value.strip()


def capacity(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
        raise DomainError(f"capacity must be a whole number from 1 to {MAX_CAPACITY}", field="capacity")
    return value


def priority(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_PRIORITY <= value <= MAX_PRIORITY:
        raise DomainError(f"priority must be a whole number from {-MAX_PRIORITY} to {MAX_PRIORITY}", field="priority")
    return value
