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
