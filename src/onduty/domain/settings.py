"""Workspace settings and their validation."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from onduty.domain.errors import DomainError, InvalidFields
from onduty.domain.types import OnLogout, Seconds, State, Strategy

# Upper bounds keep a typo (seconds vs. milliseconds) from freezing a team.
TIMEOUT_MAX: Seconds = 30 * 24 * 3600
MIN_TIMEOUT: Seconds = 1.0  # response_timeout and prompt_timeout; the other durations may be 0
MAX_CAPACITY = 1000
# Pages report input at most once a minute (S8): a shorter idle_timeout would move people who are there.
MIN_IDLE_TIMEOUT: Seconds = 120.0
# W5: the service level counts threads that reached an agent within this many seconds.
SERVICE_LEVEL_TARGET_RANGE: tuple[Seconds, Seconds] = (1.0, 3600.0)
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$"
_ZONE = re.compile(ZONE_PATTERN)


@dataclass(frozen=True, slots=True)
class OnDisconnect:
    """S8: the status the system sets when an agent's connection is gone: inactive with a
    reason of the catalogue, or offline (a logout by the system)."""

    state: State = State.INACTIVE
    reason: str | None = "away"

    def as_dict(self) -> dict[str, Any]:
        if self.state is State.OFFLINE:
            return {"state": "offline"}
        return {"state": self.state.value, "reason": self.reason}


# Settings in seconds that 0 or null turns off (S8).
_OFF_BY_ZERO = frozenset({"disconnect_grace", "return_window", "idle_timeout"})


@dataclass(frozen=True, slots=True)
class Settings:
    response_timeout: Seconds = 60.0
    prompt_timeout: Seconds = 30.0
    client_affinity_timeout: Seconds = 24 * 3600.0
    affinity_wait: Seconds = 0.0
    strategy: Strategy = Strategy.LEAST_BUSY
    on_logout: OnLogout = OnLogout.REQUEUE
    default_capacity: int = 3
    # Where the reports' days and weeks begin. Only its form is checked here (the domain
    # reads no tz database); the web layer checks that the zone exists.
    time_zone: str = "UTC"
    # S8: connection-aware presence; 0 turns each off.
    disconnect_grace: Seconds = 60.0
    return_window: Seconds = 8 * 3600.0
    idle_timeout: Seconds = 0.0
    on_disconnect: OnDisconnect = OnDisconnect()
    service_level_target: Seconds = 20.0  # W5

    def changed(self, changes: dict[str, Any]) -> Settings:
        """A copy with `changes` applied, after checking every one of them (InvalidFields
        names all the ones refused)."""
        clean: dict[str, Any] = {}
        problems: list[DomainError] = []
        for name, value in changes.items():
            try:
                clean[name] = _check(name, value)
            except DomainError as problem:
                problems.append(problem)
        if problems:
            raise InvalidFields(problems)
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: object) -> object:
    if isinstance(value, OnDisconnect):
        return value.as_dict()
    return value.value if isinstance(value, Strategy | OnLogout) else value


def setting_problems(changes: dict[str, Any]) -> list[DomainError]:
    """What is wrong with `changes`, setting by setting, in the order given."""
    try:
        Settings().changed(changes)
    except InvalidFields as refused:
        return refused.problems
    return []


_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))
_DAYS = TIMEOUT_MAX / (24 * 3600)


def _check(name: str, value: Any) -> Any:
    if name not in _NAMES:
        raise DomainError(f"{name} is not a setting", field=name)
    if name == "strategy":
        return _enum(Strategy, name, value)
    if name == "on_logout":
        return _enum(OnLogout, name, value)
    if name == "on_disconnect":
        return _on_disconnect(value)
    if name in _OFF_BY_ZERO and value is None:
        return 0.0
    if name == "time_zone":
        if not isinstance(value, str) or not _ZONE.match(value):
            raise DomainError("time_zone must be an IANA time zone name, like Europe/Paris or UTC", field=name)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError(f"{name} must be a number", field=name)
    if name == "default_capacity":
        if not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
            raise DomainError(f"default_capacity must be a whole number from 1 to {MAX_CAPACITY:,}", field=name)
        return value
    if name == "idle_timeout" and 0 < value < MIN_IDLE_TIMEOUT:
        raise DomainError(
            f"idle_timeout must be 0 (off) or at least {MIN_IDLE_TIMEOUT:g} seconds: pages report input once a minute",
            field=name,
        )
    if name == "service_level_target":
        low, high = SERVICE_LEVEL_TARGET_RANGE
        if not low <= value <= high:
            raise DomainError(
                f"service_level_target must be from {low:g} to {high:,.0f} seconds ({high / 60:g} minutes)", field=name
            )
        return float(value)
    low = MIN_TIMEOUT if name in ("response_timeout", "prompt_timeout") else 0.0
    if not low <= value <= TIMEOUT_MAX:
        off = " (off)" if name in _OFF_BY_ZERO else ""
        raise DomainError(
            f"{name} must be from {low:g}{off} to {TIMEOUT_MAX:,.0f} seconds ({_DAYS:g} days)", field=name
        )
    return float(value)


def _enum(kind: type[Strategy] | type[OnLogout], name: str, value: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise DomainError(f"{name} must be one of: {allowed}", field=name) from None


def _on_disconnect(value: Any) -> OnDisconnect:
    """Only the form: whether the reason is in the catalogue is the engine's check."""
    shape = 'on_disconnect must be {"state": "inactive", "reason": "<reason code>"} or {"state": "offline"}'
    if not isinstance(value, dict) or not set(value) <= {"state", "reason"}:
        raise DomainError(shape, field="on_disconnect")
    state, reason = value.get("state"), value.get("reason")
    if state == "offline":
        if reason is not None:
            raise DomainError("on_disconnect offline takes no reason", field="on_disconnect")
        return OnDisconnect(State.OFFLINE, None)
    if state != "inactive":
        raise DomainError(shape, field="on_disconnect")
    if not isinstance(reason, str) or not reason:
        raise DomainError("on_disconnect inactive needs a reason code", field="on_disconnect")
    return OnDisconnect(State.INACTIVE, reason)
