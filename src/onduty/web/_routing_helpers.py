"""Route decorators that document our error shape, and view-to-struct conversion."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, TypeVar

import msgspec
from litestar import Request, delete, get, patch, post, put

from onduty.web.context import context_of, provide_caller
from onduty.web.errors import ERROR_RESPONSES, invalid

T = TypeVar("T")

api_get = partial(get, responses=ERROR_RESPONSES)
api_post = partial(post, responses=ERROR_RESPONSES)
api_put = partial(put, responses=ERROR_RESPONSES)
api_patch = partial(patch, responses=ERROR_RESPONSES)
api_delete = partial(delete, responses=ERROR_RESPONSES)

# The widest ids there are: people's (users and agents) and approval requests' are INTEGER
# columns, 32 bits on PostgreSQL; threads', messages' and the status log's are BIGINT. An id
# past them is bad input, said as such (asking the database would be an error, a 500); an
# id within them that nothing has is simply not there.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


def check_id(value: int | None, field: str, *, low: int = 1, high: int = MAX_ID) -> None:
    """An id (or a cursor, with `low=0`) given in a query, within what ids can be."""
    if value is not None and not low <= value <= high:
        raise invalid(f"{field} must be a whole number from {low} to {high}", field)


def as_struct(value: Any, kind: type[T]) -> T:
    return msgspec.convert(value, kind)


def parse_ids(raw: str | None, field: str) -> list[int] | None:
    if raw is None or raw.strip() == "":
        return None
    rule = f"{field} must be comma-separated whole numbers from 1 to {MAX_ID}, like 3,7,12"
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise invalid(rule, field) from None
    if not all(1 <= i <= MAX_ID for i in ids):
        raise invalid(rule, field)
    return ids


_AT_FIELD = re.compile(r"`\$\.(\w+)")
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `(\w+)`")


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """Check a JSON body against the route's input struct as JSON types, strictly.

    Litestar converts bodies leniently (`"4"` would pass for an int, a missing field
    is reported against `data`); the API's input structs are strict and every error
    names its field. Runs before the route (a Router `before_request` hook), after
    the caller is known, so that 401 still comes first."""
    handler = request.route_handler
    parameters = handler.parsed_fn_signature.parameters
    data = parameters.get("data")
    kind = data.annotation if data is not None else None
    if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
        return
    if "caller" in parameters:
        await provide_caller(request, context_of(request))
    try:
        decoded = msgspec.json.decode(await request.body(), type=kind)
    except msgspec.ValidationError as error:
        message = str(error)
        named = _AT_FIELD.search(message) or _NAMED_FIELD.search(message)
        field = named.group(1) if named else None
        text = message.split(" - at ", 1)[0]
        raise invalid(f"{field}: {text}" if field else text, field) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise invalid(f"the body is not valid JSON: {error}", None) from None
    name = nul_field(decoded)
    if name is not None:
        raise invalid(f"{name} must not contain the NUL character (\\u0000)", name)


def nul_field(decoded: msgspec.Struct) -> str | None:
    """The first text field holding a NUL character, which PostgreSQL cannot store in text."""
    for name, value in msgspec.structs.asdict(decoded).items():
        if isinstance(value, str) and "\x00" in value:
            return name
    return None
