"""Every error leaves as `{"error": {"code", "message", "field"}}` with a 4xx (or 503) status.

A 400 about a request's fields (a body's decoding, the settings' and a reason's rules, query
parameters) also lists every invalid field, `"errors": [{"field", "message"}]`, the first of
them being `error` itself, so that a form can mark them all at once."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from onduty.domain.errors import Conflict, DomainError, Forbidden, InvalidFields, NotFound
from onduty.service.service import ServiceUnavailable
from onduty.storage.reach import out_of_reach
from onduty.web._input_words import Problem, in_words
from onduty.web.schemas import ErrorResponse

log = structlog.get_logger("onduty.web")

_DOMAIN_STATUS: dict[type[DomainError], int] = {NotFound: 404, Conflict: 409, Forbidden: 403}
_HTTP_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "too_many_requests",
}

ERROR_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(data_container=ErrorResponse, description=description, generate_examples=False)
    for status, description in (
        (400, "Bad input: the field and the rule it breaks"),
        (401, "Missing or unknown token"),
        (403, "Not allowed for this role or team"),
        (404, "No such thing, or not visible to the caller"),
        (409, "Not possible in the current state"),
        (413, "The body is larger than the service takes (1 MiB)"),
        (503, "The change could not be made durable; nothing changed"),
    )
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers  # sent with the answer: Retry-After, say
        self.problems = problems  # every invalid field, when the error is about several


def unauthorized(message: str = "sign in first: send Authorization: Bearer <token>") -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str, field: str | None = None) -> ApiError:
    return ApiError(403, "forbidden", message, field)


def not_found(message: str, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", message, field)


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, "invalid", message, field)


def invalid_fields(problems: list[Problem]) -> ApiError:
    """A 400 naming every invalid field of a request (at least one); the first is the error."""
    first = problems[0]
    return ApiError(400, "invalid", first.message, first.field, problems=problems)


def error_document(code: str, message: str, field: str | None, problems: list[Problem] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"error": {"code": code, "message": message, "field": field}}
    if problems:
        document["errors"] = [{"field": p.field, "message": p.message} for p in problems]
    return document


def body(status: int, code: str, message: str, field: str | None) -> Response[Any]:
    return Response(error_document(code, message, field), status_code=status, media_type=MediaType.JSON)


def domain_status(error: DomainError) -> int:
    if error.code == "not_found":  # an unknown id refused by a plain DomainError (a pin's message_id)
        return 404
    return next((s for kind, s in _DOMAIN_STATUS.items() if isinstance(error, kind)), 400)


RETRY_AFTER = "1"  # seconds: a failed commit, a rebuild, a stop, a takeover are that short
UNEXPECTED = "the server hit an unexpected error; nothing was changed"


def error_answer(error: Exception) -> tuple[int, dict[str, Any]]:
    """The status and document for our own errors; any other exception is a bug: logged, 500."""
    if isinstance(error, ApiError):
        return error.status, error_document(error.code, error.message, error.field, error.problems)
    if isinstance(error, InvalidFields):
        problems = [Problem(p.field, p.message) for p in error.problems]
        return domain_status(error), error_document(error.code, error.message, error.field, problems)
    if isinstance(error, DomainError):
        return domain_status(error), error_document(error.code, error.message, error.field)
    if isinstance(error, ServiceUnavailable):
        return 503, error_document("unavailable", str(error), None)
    if out_of_reach(error):
        log.warning("the database cannot be reached", error=repr(error))
        return 503, error_document("unavailable", "the database cannot be reached; try again", None)
    log.exception("unexpected error", error=repr(error))
    return 500, error_document("server_error", UNEXPECTED, None)


def handle_error(_: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    status, document = error_answer(error)
    headers = error.headers if isinstance(error, ApiError) else None
    if status == 503:
        headers = {"Retry-After": RETRY_AFTER}  # nothing was kept, or it may have been: try again
    return Response(document, status_code=status, media_type=MediaType.JSON, headers=headers)


def handle_validation(_: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    """Litestar's refusals of query and path parameters (bodies are decoded by `strict_body`)."""
    extra = error.extra if isinstance(error.extra, list) else []
    problems = [
        in_words(str(item["message"]), path=[str(item["key"])] if item.get("key") else None)
        for item in extra
        if isinstance(item, dict) and item.get("message")
    ]
    if not problems:
        return body(400, "invalid", str(error.detail), None)
    return handle_error(_, invalid_fields(problems))


def handle_http(_: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    if status >= 500:
        log.error("http error", status=status, detail=error.detail)
        return body(status, "server_error", "the server could not answer; try again", None)
    # Litestar's own headers go along: a 405's Allow names the path's methods.
    answer = body(status, _HTTP_CODES.get(status, "error"), str(error.detail), None)
    answer.headers.update(error.headers or {})
    return answer


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    ValidationException: handle_validation,
    HTTPException: handle_http,
    Exception: handle_error,  # ours (ApiError, DomainError, ServiceUnavailable), and bugs
}
