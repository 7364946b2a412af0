"""Domain errors: a refused command names the field and the rule, and changes nothing."""

from __future__ import annotations


class DomainError(Exception):
    """A command the rules refuse. `code` is stable and machine-readable."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The command is well formed but the current state does not allow it."""

    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class InvalidFields(DomainError):
    """Several fields of one command refused at once (a settings change): each problem names
    its field; the first is this error's own message and field."""

    def __init__(self, problems: list[DomainError]) -> None:
        first = problems[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.problems = problems
