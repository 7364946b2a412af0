"""S2-S4 through `PUT /api/v1/me/status` as raw ASGI requests: what the route answers for the
ways a request can come (a body in parts, an Origin, duplicate headers, a root path), its
errors (401 before 400, 413, 503, 500) and the headers the CORS middleware adds.

Raw requests rather than an HTTP client, so that a body can come in parts and a header
can come twice or in capitals, exactly as a server hands them to the app.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from onduty.domain import commands as c
from onduty.service.auth import new_token, token_hash
from onduty.service.clock import ManualClock
from onduty.service.service import ServiceUnavailable
from onduty.storage.database import resolve
from onduty.web import schemas as s
from onduty.web.app import MAX_BODY, create_app
from onduty.web.context import AppContext
from onduty.web.routes_admin import create

Message = MutableMapping[str, Any]
PATH = "/api/v1/me/status"
CORS_HEADER = (b"access-control-allow-methods", b"*")  # what the CORS middleware adds to every answer


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


@dataclass
class Site:
    """One app, its people's tokens, and the file its database lives in."""

    app: Litestar
    clock: ManualClock
    tokens: dict[str, str]
    database: Path

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    async def call(
        self,
        who: str | None,
        chunks: list[bytes],
        headers: list[tuple[bytes, bytes]],
        method: str = "PUT",
        root_path: str = "",
        path: str = PATH,
    ) -> Answer:
        sent: list[Message] = []
        pending = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
        ]

        async def receive() -> Message:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        all_headers = [(b"host", b"test"), *headers]
        if who is not None:
            all_headers.append((b"authorization", f"Bearer {self.tokens[who]}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": root_path,
            "headers": all_headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
        }
        asgi: Any = self.app
        await asgi(scope, receive, send)
        self.clock.advance(1)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return Answer(start["status"], list(start["headers"]), body)


@asynccontextmanager
async def site(template: Path, folder: Path) -> AsyncIterator[Site]:
    path = folder / "onduty.db"
    shutil.copy(template, path)
    clock = ManualClock()
    app = create_app(resolve(f"sqlite:///{path}"), clock=clock)
    async with app.lifespan():
        ctx: AppContext = app.state.ctx
        tokens = {}
        for username, role in (("ann", "agent"), ("bob", "agent"), ("sue", "supervisor")):
            request = msgspec.convert({"username": username, "role": role, "team": "t1"}, s.UserRequest)
            tokens[username] = (await create(ctx, request)).token
        await ctx.node.execute(c.AddReason("sign_off", "Sign-off", requires_approval=True))
        # An agent added by another process (`onduty users add` beside the server): the engine
        # meets them at their first request.
        cai = await ctx.users.create(username="cai", name="cai", role="agent", team="t1", password_hash=None, now=0.0)
        tokens["cai"] = new_token()
        await ctx.users.add_token(cai.id, token_hash(tokens["cai"]), 0.0)
        yield Site(app, clock, tokens, path)


Request = tuple[str | None, list[bytes], list[tuple[bytes, bytes]]]


def put(who: str | None, body: bytes | list[bytes], *headers: tuple[bytes, bytes]) -> Request:
    chunks = body if isinstance(body, list) else [body]
    return who, chunks, [(b"content-type", b"application/json"), *headers]


def states(site: Site) -> dict[int, tuple[str, str | None]]:
    service = site.ctx.node.service
    assert service is not None
    return {a.id: (a.state.value, a.reason) for a in service.workspace.agents.values()}


def saved(site: Site) -> dict[str, list[tuple[Any, ...]]]:
    """What the requests left in the database: the status log (S7), the agents' rows, the journal."""
    queries = {
        "status_log": "SELECT agent_id, at, from_state, from_reason, to_state, to_reason, actor_kind, actor_id"
        " FROM status_log ORDER BY id",
        "agents": "SELECT * FROM agents ORDER BY id",
        "events": "SELECT id, at, name, data, scope FROM events ORDER BY id",
    }
    with contextlib.closing(sqlite3.connect(site.database)) as conn:
        return {table: conn.execute(query).fetchall() for table, query in queries.items()}


def is_error_document(answer: Answer) -> bool:
    """The error shape; a refused body also lists every invalid field (`errors`)."""
    document = answer.json()
    return set(document) in ({"error"}, {"error", "errors"}) and set(document["error"]) == {"code", "message", "field"}


# Requests the route carries out (S2, S3, S4) or the engine refuses, with the status each gets
# and, for a status answered, the state it shows.
CHANGES: list[tuple[Request, int, str | None]] = [
    (put("ann", b'{"state": "active"}'), 200, "active"),
    (put("ann", b'{"state": "not_ready"}'), 200, "not_ready"),
    (put("ann", b'{"state": "not_ready"}'), 200, "not_ready"),  # the status they have: still an answer
    (put("ann", b'{"state": "inactive", "reason": "lunch"}'), 200, "inactive"),
    (put("ann", b'{"state": "inactive", "reason": "sign_off"}'), 202, "pending"),  # S4: asks for approval
    (put("ann", b'{"state": "active"}'), 200, "active"),  # withdraws the request
    (put("ann", b'{"state": "inactive", "reason": "no_such_reason"}'), 400, None),  # refused by the engine
    (put("ann", b'{"state": "active", "reason": "lunch"}'), 400, None),  # a reason only goes with inactive
    (put("ann", b'{"state": "kicked_out"}'), 403, None),  # only the system sets it (S2)
    (put("bob", [b'{"state": ', b'"active"}']), 200, "active"),  # a body in two parts
    (put("bob", b'{"state": "offline"}', (b"content-length", b"20")), 200, "offline"),
    (put("bob", b'{"state": "active"}', (b"origin", b"http://127.0.0.1:8000")), 200, "active"),  # the agent's page
    (
        put("bob", b'{"state": "not_ready"}', (b"origin", b"http://elsewhere.example"), (b"cookie", b"a=b")),
        200,
        "not_ready",
    ),
    (put("bob", b'{"state": "kicked_out"}', (b"origin", b"http://127.0.0.1:8000")), 403, None),
    (put("bob", b'{"state": "active"}', (b"Origin", b"http://x.example")), 200, "active"),  # a name in capitals
    (
        put("bob", b'{"state": "not_ready"}', (b"origin", b"http://a.example"), (b"origin", b"http://b.example")),
        200,
        "not_ready",
    ),
    (put("cai", b'{"state": "active"}'), 200, "active"),  # not in the engine yet: registered first
]


async def test_the_route_answers_status_changes_however_they_come(sqlite_template: Path, tmp_path: Path) -> None:
    async with site(sqlite_template, tmp_path) as here:
        for request, status, shown in CHANGES:
            answer = await here.call(*request)
            assert answer.status == status, (request, answer)
            if shown is None:
                assert is_error_document(answer), (request, answer)
            else:
                assert answer.json()["state"] == shown, (request, answer)
            if any(name.lower() == b"origin" for name, _ in request[2]):  # the CORS middleware's headers
                assert CORS_HEADER in answer.headers, (request, answer)
                # No origin is allowed (CORSConfig(allow_origins=[])): none is told it is.
                assert answer.header(b"access-control-allow-origin") is None, (request, answer)
        service = here.ctx.node.service
        assert service is not None
        ann, bob, cai = (service.workspace.agents[u.id] for u in await users(here, "ann", "bob", "cai"))
        assert (ann.state.value, bob.state.value, cai.state.value) == ("active", "not_ready", "active")
        rows = saved(here)
        assert len(rows["status_log"]) >= 5 and rows["events"]  # the changes were made, and kept


async def users(here: Site, *names: str) -> list[Any]:
    found = [await here.ctx.users.by_username(name) for name in names]
    return [f[0] for f in found if f is not None]


# Requests the route refuses before any change, with the status each gets.
REFUSED: list[tuple[Request, int]] = [
    (put(None, b'{"state": "active"}'), 401),  # no token
    (put("ann", b'{"state": "active"}', (b"authorization", b"Bearer another")), 401),  # two tokens
    (put("sue", b'{"state": "active"}'), 403),  # not an agent
    (put("ann", b'{"state": "bogus"}'), 400),
    (put("ann", b"{not json"), 400),
    (put("ann", b'{"state": "active", "colour": "red"}'), 400),  # unknown field
    (put("ann", b'{"state": 3}'), 400),
    (put("ann", b'{"state": "inactive", "reason": "lu\\u0000nch"}'), 400),  # NUL
    (put(None, b"{not json"), 401),  # who is calling comes first
    (put("ann", b"{}", (b"content-length", str(MAX_BODY + 1).encode())), 413),
    (put("ann", [b'{"state": "active", "x": "', b"y" * MAX_BODY, b'"}']), 413),  # over the limit, no length
]


async def test_the_route_refuses_bad_requests_and_changes_nothing(sqlite_template: Path, tmp_path: Path) -> None:
    async with site(sqlite_template, tmp_path) as here:
        before_states, before_rows = states(here), saved(here)
        for request, status in REFUSED:
            answer = await here.call(*request)
            assert answer.status == status, (request, answer)
            assert is_error_document(answer), (request, answer)
        assert states(here) == before_states
        assert saved(here) == before_rows


async def test_an_unknown_token_is_refused_after_one_look_up(sqlite_template: Path, tmp_path: Path) -> None:
    async with site(sqlite_template, tmp_path) as here:
        look_ups: list[str] = []
        here.tokens["nobody"] = "not-a-token"
        read = here.ctx.users.by_token_hash

        async def counted(digest: str) -> Any:
            look_ups.append(digest)
            return await read(digest)

        here.ctx.users.by_token_hash = counted  # type: ignore[method-assign,assignment]
        answer = await here.call(*put("nobody", b'{"state": "active"}'))
        assert answer.status == 401
        assert answer.json()["error"]["code"] == "unauthorized"
        assert len(look_ups) == 1


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (lambda: ServiceUnavailable("the change could not be saved; nothing was changed"), 503),
        (lambda: RuntimeError("a bug"), 500),
    ],
)
async def test_a_failed_change_is_answered_with_the_error_document(
    sqlite_template: Path, tmp_path: Path, failure: Callable[[], Exception], status: int
) -> None:
    async with site(sqlite_template, tmp_path) as here:

        async def failing(_: c.Command, **__: Any) -> Any:
            raise failure()

        here.ctx.node.execute = failing  # type: ignore[method-assign,assignment]
        answer = await here.call(*put("ann", b'{"state": "active"}'))
        assert answer.status == status
        assert is_error_document(answer)
        assert answer.json()["error"]["code"] == ("unavailable" if status == 503 else "server_error")
        # A 503 says when to try again (nothing was kept, or it may have been); a 500 does not.
        assert answer.header(b"retry-after") == (b"1" if status == 503 else None)


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (lambda: ConnectionRefusedError("the database does not answer"), 503, "unavailable"),
        (lambda: RuntimeError("a bug"), 500, "server_error"),
    ],
)
async def test_a_failed_token_look_up_is_answered_with_the_error_document(
    sqlite_template: Path, tmp_path: Path, failure: Callable[[], Exception], status: int, code: str
) -> None:
    """A database out of reach is worth a retry (503); anything else is a bug (500)."""
    async with site(sqlite_template, tmp_path) as here:
        here.tokens["nobody"] = "not-in-the-cache"

        async def failing(_: str) -> Any:
            raise failure()

        here.ctx.users.by_token_hash = failing  # type: ignore[method-assign,assignment]
        answer = await here.call(*put("nobody", b'{"state": "active"}'))
        assert answer.status == status
        assert answer.json()["error"]["code"] == code


async def test_other_methods_are_405(sqlite_template: Path, tmp_path: Path) -> None:
    async with site(sqlite_template, tmp_path) as here:
        answer = await here.call("ann", [b""], [], method="GET")
        assert answer.status == 405


async def test_a_body_over_the_limit_changes_nothing_however_it_comes(sqlite_template: Path, tmp_path: Path) -> None:
    """Valid JSON padded past the limit: in one message, or crossing it in the last part."""
    padded = b'{"state": "not_ready"}' + b" " * MAX_BODY
    async with site(sqlite_template, tmp_path) as here:
        before = states(here)
        for body in ([padded], [padded[:1000], padded[1000:]]):
            answer = await here.call(*put("ann", body))
            assert answer.status == 413
        assert states(here) == before


async def test_under_a_root_path_the_route_is_found_after_it(sqlite_template: Path, tmp_path: Path) -> None:
    async with site(sqlite_template, tmp_path) as here:
        # The path includes the root path (ASGI); the framework routes what follows it.
        for root_path, path, status in (("/onduty", "/onduty" + PATH, 200), ("/api", PATH, 404)):
            answer = await here.call(*put("ann", b'{"state": "active"}'), root_path=root_path, path=path)
            assert answer.status == status, (root_path, answer)
