"""Any instance takes any request: on a follower, the API's writes go to the owner whole.

A plain ASGI wrapper, before Litestar's routing, so that a route that changes state runs
on the instance that owns the workspace, check, command and answer together, as if the
client had called it there. What a follower does:

- the request's body is read (at most the app's limit), and the request is sent to the
  owner with an idempotency key: the client's `Idempotency-Key`, or one made here, so
  that a request sent again after the owner died is not applied twice
  (service/forwarding.py retries until another instance has taken over, then answers
  503 with Retry-After);
- the owner's answer says (`Onduty-Event-Id`) the journal's last id when it answered;
  before passing the answer on, the follower waits (briefly) until its own copy holds
  it, so that the client's next read here shows its own write.

Reads (GET, HEAD, OPTIONS) run where they arrive. So do the calls that change nothing of
the workspace's engine and must see the client's own address or this instance's
streams: signing in (its failed attempts are counted by address), signing out (it
closes this instance's streams of the session), a stream ticket.

On the owner (and on a single instance) a request's `Idempotency-Key`, with a digest of
its credential, keys the commands it gives (service/idempotency.py), and the answer
carries `Onduty-Event-Id`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.serialization import encode_json
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from onduty.service.forwarding import EVENT_ID, FORWARDED, IDEMPOTENCY_KEY, NOT_OWNER, OwnerHere
from onduty.service.idempotency import MAX_KEY_LENGTH, caller_key, request_key, valid_key
from onduty.service.service import ServiceUnavailable
from onduty.web.errors import RETRY_AFTER, error_document

if TYPE_CHECKING:
    from litestar import Litestar

    from onduty.service.node import Node

API = "/api/v1/"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
HERE = frozenset({"/api/v1/auth/token", "/api/v1/auth/logout", "/api/v1/events/ticket"})
# Not passed on: they describe this hop, not the request (RFC 9110 §7.6.1), or would make
# the owner's answer differ from what this instance passes on (a compressed body).
_HOP_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length",
     "proxy-connection", "accept-encoding", FORWARDED, NOT_OWNER}
)  # fmt: skip
_ANSWER_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date", "server",
     "content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"}
)  # fmt: skip


class Forwarding:
    def __init__(self, app: ASGIApp, litestar: Litestar, *, max_body: int) -> None:
        self.app = app
        self.litestar = litestar
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] in READS or not scope["path"].startswith(API):
            await self.app(scope, receive, send)
            return
        ctx = getattr(self.litestar.state, "ctx", None)
        if ctx is None:  # not started
            await self.app(scope, receive, send)
            return
        node: Node = ctx.node
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        key = headers.get(IDEMPOTENCY_KEY)
        if key is not None and not valid_key(key):
            message = f"Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters"
            await _answer(send, 400, error_document("invalid", message, IDEMPOTENCY_KEY))
            return
        if node.forwards and scope["path"] not in HERE:
            if FORWARDED in headers:  # sent here as to the owner, and this one is not: no chains
                await _answer(send, 503, _NOT_OWNER_DOCUMENT, ((NOT_OWNER.encode(), b"1"),))
                return
            await self._forward(node, scope, receive, send, headers, key or f"f-{uuid.uuid4().hex}")
            return
        with request_key(_own(key, headers)):
            await self.app(scope, receive, _with_event_id(send, node))

    async def _forward(
        self, node: Node, scope: HTTPScope, receive: Receive, send: Send, headers: dict[str, str], key: str
    ) -> None:
        body = await _body(receive, self.max_body)
        if body is None:
            message = f"The body is larger than the service takes ({self.max_body // 1024 // 1024} MiB)"
            await _answer(send, 413, error_document("too_large", message, None))
            return
        sent = {name: value for name, value in headers.items() if name not in _HOP_HEADERS}
        sent[IDEMPOTENCY_KEY] = key
        target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            response = await node.forwarder.request(scope["method"], target, sent, body)
        except OwnerHere:
            # This instance took the workspace over while it waited for an owner: the request
            # runs here, under its key (what the old owner committed is not applied again).
            with request_key(_own(key, headers)):
                await self.app(scope, _replay(body, receive), _with_event_id(send, node))
            return
        except ServiceUnavailable as error:
            await _answer(
                send, 503, error_document("unavailable", str(error), None), ((b"retry-after", RETRY_AFTER.encode()),)
            )
            return
        node.metrics.forwarded.labels("request").inc()
        event_id = response.header(EVENT_ID)
        if event_id is not None and event_id.isdigit():
            await node.wait_for_event(int(event_id))
        answer = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers
            if name not in _ANSWER_HOP_HEADERS
        ]
        await send(HTTPResponseStartEvent(type="http.response.start", status=response.status, headers=answer))
        await send(HTTPResponseBodyEvent(type="http.response.body", body=response.body, more_body=False))


def _own(key: str | None, headers: dict[str, str]) -> str | None:
    """The request's key as its commands are keyed, the client's own (its credential's):
    the same on whichever instance runs the route (service/idempotency.py)."""
    return caller_key(key, headers.get("authorization", "")) if key is not None else None


_NOT_OWNER_DOCUMENT = error_document("unavailable", "this instance does not own the workspace; try again", None)


def _with_event_id(send: Send, node: Node) -> Send:
    async def send_with_event_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                *message.get("headers", ()),
                (EVENT_ID.encode(), str(node.committed_event_id).encode()),
            ]
        await send(message)

    return send_with_event_id


def _replay(body: bytes, receive: Receive) -> Receive:
    """The request's body, read already, given again to the app; then the client's messages
    (a disconnect)."""
    given = False

    async def replay() -> ReceiveMessage:
        nonlocal given
        if not given:
            given = True
            return HTTPRequestEvent(type="http.request", body=body, more_body=False)
        return await receive()

    return replay


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request's whole body; None when it is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client left: what came is all there is
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, document: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = encode_json(document)
    if status == 503 and not any(name == b"retry-after" for name, _ in extra):
        extra = (*extra, (b"retry-after", RETRY_AFTER.encode()))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=headers))
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))
