"""Route decorators that document our error shape, and view-to-struct conversion."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.params import PathParameter, QueryParameter

from onduty.web._body_rules import RULES
from onduty.web._input_words import Problem, body_problems
from onduty.web._openapi import BEARER_TOKEN, KeyedWrite
from onduty.web.context import context_of, provide_caller
from onduty.web.errors import ERROR_RESPONSES, invalid, invalid_fields
from onduty.web.schemas import MAX_BIG_ID, MAX_ID

T = TypeVar("T")

# The API's routes: our error shape, and a bearer token (sign-in alone overrides `security`).
api_get = partial(get, responses=ERROR_RESPONSES, security=BEARER_TOKEN)
api_post = partial(post, responses=ERROR_RESPONSES, security=BEARER_TOKEN, operation_class=KeyedWrite)
api_put = partial(put, responses=ERROR_RESPONSES, security=BEARER_TOKEN, operation_class=KeyedWrite)
api_patch = partial(patch, responses=ERROR_RESPONSES, security=BEARER_TOKEN, operation_class=KeyedWrite)
api_delete = partial(delete, responses=ERROR_RESPONSES, security=BEARER_TOKEN, operation_class=KeyedWrite)


def query(name: str | None = None, description: str | None = None, **schema: Any) -> Any:
    """A query parameter whose documented schema (enum, minimum, pattern...) says what the
    route's own checks accept; those checks give the error messages."""
    return QueryParameter(name=name, description=description, schema_extra=schema or None)


# Path ids, documented within what ids can be (routes answer 404 for any other number).
PersonId = Annotated[int, PathParameter(schema_extra={"minimum": 1, "maximum": MAX_ID})]  # users, agents, approvals
BigId = Annotated[int, PathParameter(schema_extra={"minimum": 1, "maximum": MAX_BIG_ID})]  # threads, messages


def check_id(value: int | None, field: str, *, low: int = 1, high: int = MAX_ID) -> None:
    """An id (or a cursor, with `low=0`) given in a query, within what ids can be."""
    if value is not None and not low <= value <= high:
        raise invalid(f"{field} must be a whole number from {low} to {high}", field)


def as_struct(value: Any, kind: type[T]) -> T:
    return msgspec.convert(value, kind)


def number_pattern(high: int) -> str:
    """A regular expression for the whole numbers from 1 to `high` in plain digits (leading
    zeros allowed), so that a document can say what a comma-separated list may hold."""
    top = str(high)
    choices = [f"[1-9][0-9]{{0,{len(top) - 2}}}"] if len(top) > 1 else []
    for i, digit in enumerate(top):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            rest = len(top) - i - 1
            choices.append(f"{top[:i]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    choices.append(top)
    return f"0*(?:{'|'.join(choices)})"


_ID = number_pattern(MAX_ID)
IDS_PATTERN = rf"^ *(?:{_ID})? *(?:, *(?:{_ID})? *)*$"
_IDS = re.compile(IDS_PATTERN)


def parse_ids(raw: str | None, field: str) -> list[int] | None:
    if raw is None or raw.strip() == "":
        return None
    rule = f"{field} must be comma-separated whole numbers from 1 to {MAX_ID}, like 3,7,12"
    # Plain digits only (not the signs, underscores or other scripts int() reads), as documented.
    if not _IDS.match(raw):
        raise invalid(rule, field)
    ids = [int(part) for part in raw.split(",") if part.strip()]
    if not all(1 <= i <= MAX_ID for i in ids):
        raise invalid(rule, field)
    return ids


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
    raw = await request.body()
    try:
        decoded = decode_strictly(raw, kind)
    except msgspec.ValidationError as error:
        raise invalid_fields(body_problems(kind, _plain_json(raw), error, RULES.get(kind))) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise invalid(f"the body is not valid JSON: {error}", None) from None
    problems = [Problem(name, f"{name} must not contain the NUL character (\\u0000)") for name in nul_fields(decoded)]
    if problems:
        raise invalid_fields(problems)


def decode_strictly(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        # JSON has one kind of number: 3.0 is the integer 3 (JSON Schema says so too), which
        # msgspec's strict integers refuse. Anything else fails with the first message.
        try:
            return msgspec.convert(_integral_floats_as_ints(msgspec.json.decode(body)), kind)
        except msgspec.ValidationError:
            raise error from None


def _plain_json(body: bytes) -> Any:
    """The body as plain values, integers written 3.0 included (as `decode_strictly` reads
    them), to find every invalid field; a number no float holds (1e999) gives nothing."""
    try:
        return _integral_floats_as_ints(msgspec.json.decode(body))
    except msgspec.ValidationError:
        return None


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


def nul_fields(decoded: msgspec.Struct) -> list[str]:
    """The text fields holding a NUL character, which PostgreSQL cannot store in text."""
    fields = msgspec.structs.asdict(decoded).items()
    return [name for name, value in fields if isinstance(value, str) and "\x00" in value]
