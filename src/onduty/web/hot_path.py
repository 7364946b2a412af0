"""`PUT /api/v1/me/status`, the request an agent sends most, served ahead of the framework.

Every break and every return is one of these, from the agent's page or from
an integration. Through Litestar's per-request machinery (routing, dependency
injection, signature parsing, the response classes) the call cost about as
much CPU again as the status change itself (docs/performance.md, issue 6).
This path answers it with the route's own functions (`user_for_token`, the
strict body struct, `change_own_status`, the error document) plus the headers
the CORS middleware adds, and nothing else; but only in the plain case: one
bearer token of an agent, and a body within the limit that decodes strictly.
Anything else, every malformed request included, goes on to the framework
with its body, so the route in routes_me.py stays the one place that defines
this call's errors and its OpenAPI entry. tests/integration/test_hot_path.py
holds the two paths to the same bytes, and fails when the route gains a hook
or middleware that this path would skip: add it here too, or leave the call
to the framework.

Who is calling is settled before the body is read, as in the route: an
unknown token is a 401 from here, and a failed look-up is answered as the
framework's handlers would (errors.error_answer). A client that goes away
before its body ends gets no answer (the framework would log a 500 that
nobody receives).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
from litestar.config.cors import CORSConfig

from onduty.web import schemas as s
from onduty.web.context import CALLER_SCOPE_KEY, UNKNOWN_TOKEN, AppContext, bearer_token
from onduty.web.errors import error_answer, unauthorized
from onduty.web.routes_me import change_own_status
from onduty.web.routing_helpers import nul_field

PATH = "/api/v1/me/status"
METHOD = "PUT"

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_decode = msgspec.json.Decoder(s.StatusRequest).decode
_encode = msgspec.json.Encoder().encode


def takes(scope: MutableMapping[str, Any]) -> bool:
    """Is this the call this path serves (before looking any closer)? Not under a root path:
    the framework strips it from the path first."""
    return bool(
        scope["type"] == "http" and scope["path"] == PATH and scope["method"] == METHOD and not scope.get("root_path")
    )


async def serve_own_status(
    ctx: AppContext,
    scope: MutableMapping[str, Any],
    receive: Receive,
    send: Send,
    *,
    max_body: int,
    cors: CORSConfig | None,
) -> Receive | None:
    """Answers the call and returns None; or, when it is not the plain case, returns the
    `receive` to hand to the framework (the body read so far comes first)."""
    plain = _plain_headers(scope["headers"], max_body)
    if plain is None:
        return receive
    token, origin, has_cookie = plain
    extra = _cors_headers(cors, origin, has_cookie) if origin is not None else []
    # Who is calling comes first, before the body, as in the route (401 before 400).
    try:
        user = await ctx.user_for_token(token)
        if user is None:
            raise unauthorized(UNKNOWN_TOKEN)
    except Exception as error:
        await _respond(send, *error_answer(error), extra)
        return None
    scope[CALLER_SCOPE_KEY] = user  # the framework need not look the token up again
    if user.role != "agent":
        return receive
    body, more = await _read_body(receive, max_body)
    if body is None:
        return None  # the client went away before the body ended: nobody to answer
    if more or len(body) > max_body:
        return _replay(body, more, receive)  # the framework's 413
    try:
        data = _decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return _replay(body, False, receive)
    if nul_field(data) is not None:
        return _replay(body, False, receive)
    try:
        status, answer = await change_own_status(ctx, user, data)
    except Exception as error:
        await _respond(send, *error_answer(error), extra)
        return None
    await _respond(send, status, answer, extra)
    return None


def _plain_headers(headers: list[tuple[bytes, bytes]], max_body: int) -> tuple[str, str | None, bool] | None:
    """The bearer token, the Origin and whether a cookie came, when the headers are the
    plain case: lower-case names, one Authorization header with a bearer token, at most
    one Origin, no announced body over the limit. None otherwise."""
    authorization: bytes | None = None
    origin: bytes | None = None
    has_cookie = False
    for name, value in headers:
        if not name.islower():  # ASGI asks for lower-case names; the framework takes any
            return None
        if name == b"authorization":
            if authorization is not None:
                return None
            authorization = value
        elif name == b"origin":
            if origin is not None:
                return None
            origin = value
        elif name == b"cookie":
            has_cookie = True
        elif name == b"content-length" and (not value.isdigit() or int(value) > max_body):
            return None
    token = None if authorization is None else bearer_token(authorization.decode("latin-1"))
    if token is None:
        return None
    return token, None if origin is None else origin.decode("latin-1"), has_cookie


def _cors_headers(cors: CORSConfig | None, origin: str, has_cookie: bool) -> list[tuple[bytes, bytes]]:
    """What Litestar's CORS middleware adds to the answer of a request with an Origin (its
    `send_wrapper`, for the config the app runs with); the tests compare the two."""
    if cors is None:
        return []
    added = dict(cors.simple_headers)
    allow_all = cors.is_allow_all_origins
    if (allow_all and has_cookie) or (not allow_all and cors.is_origin_allowed(origin)):
        added["Access-Control-Allow-Origin"] = origin
        added["Vary"] = "Origin"
    added["Access-Control-Allow-Headers"] = ", ".join(sorted(set(cors.allow_headers)))
    added["Access-Control-Allow-Methods"] = ", ".join(sorted(set(cors.allow_methods)))
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in added.items()]


async def _read_body(receive: Receive, max_body: int) -> tuple[bytes | None, bool]:
    """The body, and whether more of it is still unread (it went over `max_body`). None:
    the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, False
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > max_body:
            return b"".join(chunks), more


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` that gives the body read so far, then whatever is left."""
    first: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]

    async def replayed() -> Message:
        return first.pop() if first else await receive()

    return replayed


async def _respond(
    send: Send, status: int, answer: msgspec.Struct | dict[str, Any], extra: list[tuple[bytes, bytes]]
) -> None:
    payload = _encode(answer)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload)), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
