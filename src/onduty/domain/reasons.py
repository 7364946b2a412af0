"""The catalogue of inactivity reasons (S1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onduty.domain.errors import Conflict, DomainError, InvalidFields, NotFound

BUILT_IN: tuple[tuple[str, str], ...] = (
    ("lunch", "Lunch break"),
    ("short_break", "Short break"),
    ("training", "Training"),
    ("meeting", "Meeting"),
    ("technical_break", "Technical break"),
    ("away", "Away"),
)
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_CODE = re.compile(CODE_PATTERN)
MAX_LABEL = 80
# S10: a week at most; a longer limit is a typo (hours or seconds meant), not a break.
MAX_MINUTES = 7 * 24 * 60


@dataclass(slots=True)
class Reason:
    code: str
    label: str
    requires_approval: bool = False
    retired: bool = False
    built_in: bool = False
    max_minutes: int | None = None  # S10: longer than this in it is overdue; None: no limit


# Status filters (W2) take a state, `active_free` or a reason code: a reason may not take
# one of the other two's names.
RESERVED_CODES = frozenset(
    (
        "offline",
        "not_ready",
        "active",
        "active_own_clients",
        "finishing",
        "inactive",
        "kicked_out",
        "active_free",
        "overdue",  # S10: the filter for overdue agents
    )
)


def validate_code(code: str) -> None:
    if code in RESERVED_CODES:
        raise DomainError(f"reason code {code!r} is the name of a status filter; choose another", field="code")
    if not _CODE.match(code):
        raise DomainError(
            "reason code must be 1-40 characters: a lowercase letter, then lowercase letters, digits or _",
            field="code",
        )


def validate_label(label: str) -> str:
    label = label.strip()
    if not label:
        raise DomainError("label must not be empty", field="label")
    if len(label) > MAX_LABEL:
        raise DomainError(f"label must be at most {MAX_LABEL} characters", field="label")
    return label


def validate_max_minutes(value: object) -> int | None:
    """S10: a whole number of minutes from 1 to MAX_MINUTES, or None (no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise DomainError(
            f"max_minutes must be a whole number of minutes from 1 to {MAX_MINUTES:,} ({MAX_MINUTES // 1440} days),"
            " or null for no limit",
            field="max_minutes",
        )
    return value


_FIELD_CHECKS: dict[str, Callable[[Any], object]] = {
    "code": validate_code,
    "label": validate_label,
    "max_minutes": validate_max_minutes,
}


def reason_problems(fields: dict[str, Any]) -> list[DomainError]:
    """What is wrong with a reason's `fields` (code, label, max_minutes; null ones mean
    "unchanged" or "no limit"), every one of them."""
    problems: list[DomainError] = []
    for name, check in _FIELD_CHECKS.items():
        if fields.get(name) is not None:
            try:
                check(fields[name])
            except DomainError as problem:
                problems.append(problem)
    return problems


class ReasonCatalogue:
    """Reasons by code. Retired reasons stay so that history still reads (S1)."""

    def __init__(self) -> None:
        self._by_code: dict[str, Reason] = {code: Reason(code, label, built_in=True) for code, label in BUILT_IN}

    def all(self) -> list[Reason]:
        return list(self._by_code.values())

    def get(self, code: str) -> Reason | None:
        return self._by_code.get(code)

    def label(self, code: str | None) -> str | None:
        if code is None:
            return None
        reason = self._by_code.get(code)
        return reason.label if reason else code

    def usable(self, code: str | None, field: str = "reason") -> Reason:
        """A reason that may be chosen now: known and not retired."""
        if code is None:
            raise DomainError("inactive needs a reason", field=field)
        reason = self._by_code.get(code)
        if reason is None:
            raise DomainError(f"unknown reason {code!r}", field=field, code="unknown_reason")
        if reason.retired:
            raise DomainError(f"reason {code!r} is retired", field=field, code="reason_retired")
        return reason

    def check_add(self, code: str, label: str, max_minutes: object) -> tuple[str, int | None]:
        """The label and limit to keep; whatever is wrong with the three is refused together."""
        problems = reason_problems({"code": code, "label": label, "max_minutes": max_minutes})
        if problems:
            raise InvalidFields(problems)
        if code in self._by_code:
            raise Conflict(f"reason {code!r} already exists", field="code")
        return validate_label(label), validate_max_minutes(max_minutes)

    def existing(self, code: str) -> Reason:
        reason = self._by_code.get(code)
        if reason is None:
            raise NotFound(f"unknown reason {code!r}", field="code")
        return reason

    def add(self, reason: Reason) -> None:
        self._by_code[reason.code] = reason
