"""S2-S4 through `PUT /api/v1/me/status`'s hot path (web/hot_path.py): the same answers as
the framework's route, byte for byte, for the requests it serves and for those it hands on.

Two apps side by side, each on its own database and its own manual clock at the same
time: one with the hot path, one without. Every request goes to both, and their
answers (status, headers, body) must be equal; a spy on the framework tells which
requests the hot path answered itself.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute

from onduty.domain import commands as c
from onduty.service.auth import new_token, token_hash
from onduty.service.clock import ManualClock
from onduty.service.service import ServiceUnavailable
from onduty.storage.database import resolve
from onduty.web import schemas as s
from onduty.web.app import MAX_BODY, App, create_app
from onduty.web.context import AppContext
from onduty.web.routes_admin import create
from onduty.web.routing_helpers import strict_body

Message = MutableMapping[str, Any]
PATH = "/api/v1/me/status"


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Side:
    """One app, its people's tokens, and how many requests reached the framework."""

    app: App
    clock: ManualClock
    tokens: dict[str, str]
    database: Path
    framework_calls: list[str] = field(default_factory=list)

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
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return Answer(start["status"], list(start["headers"]), body)


async def _side(stack: AsyncExitStack, template: Path, folder: Path, hot: bool) -> Side:
    path = folder / f"{'hot' if hot else 'framework'}.db"
    shutil.copy(template, path)
    clock = ManualClock()
    app = create_app(resolve(f"sqlite:///{path}"), clock=clock, with_hot_path=hot)
    await stack.enter_async_context(app.lifespan())
    ctx: AppContext = app.state.ctx
    tokens = {}
    for username, role in (("ann", "agent"), ("bob", "agent"), ("sue", "supervisor")):
        request = msgspec.convert({"username": username, "role": role, "team": "t1"}, s.UserRequest)
        tokens[username] = (await create(ctx, request)).token
    await ctx.service.execute(c.AddReason("sign_off", "Sign-off", requires_approval=True))
    # An agent added by another process (`onduty users add` beside the server): the engine
    # meets them at their first request.
    cai = await ctx.users.create(username="cai", name="cai", role="agent", team="t1", password_hash=None, now=0.0)
    tokens["cai"] = new_token()
    await ctx.users.add_token(cai.id, token_hash(tokens["cai"]), 0.0)
    side = Side(app, clock, tokens, path)
    framework = app.asgi_handler

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        side.framework_calls.append(scope["path"])
        await framework(scope, receive, send)

    app.asgi_handler = spy
    return side


@asynccontextmanager
async def two_sides(template: Path, folder: Path) -> AsyncIterator[tuple[Side, Side]]:
    """Within one task: the apps' lifespans must end in the task they began in."""
    async with AsyncExitStack() as stack:
        yield await _side(stack, template, folder, True), await _side(stack, template, folder, False)


Request = tuple[str | None, list[bytes], list[tuple[bytes, bytes]]]


def put(who: str | None, body: bytes | list[bytes], *headers: tuple[bytes, bytes]) -> Request:
    chunks = body if isinstance(body, list) else [body]
    return who, chunks, [(b"content-type", b"application/json"), *headers]


async def both(hot: Side, framework: Side, request: Request) -> tuple[Answer, bool]:
    """The two answers, checked equal; and whether the hot path answered by itself."""
    before = len(hot.framework_calls)
    ours = await hot.call(*request)
    theirs = await framework.call(*request)
    assert ours == theirs, f"{request}: hot path {ours} != framework {theirs}"
    hot.clock.advance(1)
    framework.clock.advance(1)
    return ours, len(hot.framework_calls) == before


# The plain case: the hot path answers, as the route would (S2, S3, S4).
SERVED: list[tuple[Request, int]] = [
    (put("ann", b'{"state": "active"}'), 200),
    (put("ann", b'{"state": "not_ready"}'), 200),
    (put("ann", b'{"state": "not_ready"}'), 200),  # the status they have: still an answer
    (put("ann", b'{"state": "inactive", "reason": "lunch"}'), 200),
    (put("ann", b'{"state": "inactive", "reason": "sign_off"}'), 202),  # S4: asks for approval
    (put("ann", b'{"state": "active"}'), 200),  # withdraws the request
    (put("ann", b'{"state": "inactive", "reason": "no_such_reason"}'), 400),  # refused by the engine
    (put("ann", b'{"state": "active", "reason": "lunch"}'), 400),  # a reason only goes with inactive
    (put("ann", b'{"state": "kicked_out"}'), 403),  # only the system sets it (S2)
    (put("bob", [b'{"state": ', b'"active"}']), 200),  # a body in two parts
    (put("bob", b'{"state": "offline"}', (b"content-length", b"20")), 200),
    (put("bob", b'{"state": "active"}', (b"origin", b"http://127.0.0.1:8000")), 200),  # from the agent's page
    (put("bob", b'{"state": "not_ready"}', (b"origin", b"http://elsewhere.example"), (b"cookie", b"a=b")), 200),
    (put("bob", b'{"state": "kicked_out"}', (b"origin", b"http://127.0.0.1:8000")), 403),
    (put("cai", b'{"state": "active"}'), 200),  # not in the engine yet: registered first
]


async def test_hot_path_answers_plain_status_changes_as_the_route_does(sqlite_template: Path, tmp_path: Path) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        for request, status in SERVED:
            answer, alone = await both(hot, framework, request)
            assert answer.status == status, (request, answer)
            assert alone, f"{request} reached the framework"
            if any(name == b"origin" for name, _ in request[2]):  # the CORS middleware's headers, as it adds them
                assert (b"access-control-allow-methods", b"*") in answer.headers
        assert states(hot) == states(framework)
        rows = saved(hot)
        assert rows == saved(framework)
        assert len(rows["status_log"]) >= 5 and rows["events"]  # the changes were made, and kept


def states(side: Side) -> dict[int, tuple[str, str | None]]:
    return {a.id: (a.state.value, a.reason) for a in side.ctx.service.workspace.agents.values()}


def saved(side: Side) -> dict[str, list[tuple[Any, ...]]]:
    """What the requests left in the database: the status log (S7), the agents' rows, the journal."""
    queries = {
        "status_log": "SELECT agent_id, at, from_state, from_reason, to_state, to_reason, actor_kind, actor_id"
        " FROM status_log ORDER BY id",
        "agents": "SELECT * FROM agents ORDER BY id",
        "events": "SELECT id, at, name, data, scope FROM events ORDER BY id",
    }
    with contextlib.closing(sqlite3.connect(side.database)) as conn:
        return {table: conn.execute(query).fetchall() for table, query in queries.items()}


# Anything else goes on to the framework, whose answer is the one given.
HANDED_ON: list[tuple[Request, int]] = [
    (put(None, b'{"state": "active"}'), 401),  # no token
    (put("ann", b'{"state": "active"}', (b"authorization", b"Bearer another")), 401),  # two tokens
    (put("ann", b'{"state": "active"}', (b"origin", b"http://a.example"), (b"origin", b"http://b.example")), 200),
    (put("sue", b'{"state": "active"}'), 403),  # not an agent
    (put("ann", b'{"state": "bogus"}'), 400),
    (put("ann", b"{not json"), 400),
    (put("ann", b'{"state": "active", "colour": "red"}'), 400),  # unknown field
    (put("ann", b'{"state": 3}'), 400),
    (put("ann", b'{"state": "inactive", "reason": "lu\\u0000nch"}'), 400),  # NUL
    (put("ann", b"{}", (b"content-length", str(MAX_BODY + 1).encode())), 413),
    (put("ann", [b'{"state": "active", "x": "', b"y" * MAX_BODY, b'"}']), 413),  # over the limit, no length
]


async def test_hot_path_hands_everything_else_to_the_route(sqlite_template: Path, tmp_path: Path) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        for request, status in HANDED_ON:
            answer, alone = await both(hot, framework, request)
            assert answer.status == status, (request, answer)
            assert not alone, f"{request} did not reach the framework"
        assert states(hot) == states(framework)
        assert saved(hot) == saved(framework)


async def test_an_unknown_token_is_refused_the_same_way_after_one_look_up(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        look_ups: list[str] = []
        for side in (hot, framework):
            side.tokens["nobody"] = "not-a-token"
            read = side.ctx.users.by_token_hash

            async def counted(digest: str, read: Any = read) -> Any:
                look_ups.append(digest)
                return await read(digest)

            side.ctx.users.by_token_hash = counted  # type: ignore[method-assign,assignment]
        answer, alone = await both(hot, framework, put("nobody", b'{"state": "active"}'))
        assert (answer.status, alone) == (401, True)
        assert len(look_ups) == 2  # one on each side


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (lambda: ServiceUnavailable("the change could not be saved; nothing was changed"), 503),
        (lambda: RuntimeError("a bug"), 500),
    ],
)
async def test_a_failed_change_answers_as_the_route_does(
    sqlite_template: Path, tmp_path: Path, failure: Callable[[], Exception], status: int
) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        for side in (hot, framework):

            async def failing(_: c.Command) -> Any:
                raise failure()

            side.ctx.service.execute = failing  # type: ignore[method-assign,assignment]
        answer, alone = await both(hot, framework, put("ann", b'{"state": "active"}'))
        assert (answer.status, alone) == (status, True)
        assert msgspec.json.decode(answer.body)["error"]["code"] == ("unavailable" if status == 503 else "server_error")


async def test_other_calls_are_left_to_the_framework(sqlite_template: Path, tmp_path: Path) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, _):
        answer = await hot.call("ann", [b""], [], method="GET")
        assert answer.status == 405
        assert hot.framework_calls == [PATH]


async def test_a_failed_token_look_up_is_answered_as_the_framework_does(sqlite_template: Path, tmp_path: Path) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        for side in (hot, framework):
            side.tokens["nobody"] = "not-in-the-cache"

            async def unreachable(_: str) -> Any:
                raise OSError("the database does not answer")

            side.ctx.users.by_token_hash = unreachable  # type: ignore[method-assign,assignment]
        answer, alone = await both(hot, framework, put("nobody", b'{"state": "active"}'))
        assert (answer.status, alone) == (500, True)


async def test_a_body_over_the_limit_changes_nothing_however_it_comes(sqlite_template: Path, tmp_path: Path) -> None:
    """Valid JSON padded past the limit: in one message, or crossing it in the last part."""
    padded = b'{"state": "not_ready"}' + b" " * MAX_BODY
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        before = states(hot)
        for body in ([padded], [padded[:1000], padded[1000:]]):
            answer, alone = await both(hot, framework, put("ann", body))
            assert (answer.status, alone) == (413, False)
        assert states(hot) == states(framework) == before


async def test_under_a_root_path_the_framework_decides(sqlite_template: Path, tmp_path: Path) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        # The path includes the root path (ASGI); the framework routes what follows it.
        for root_path, path, status in (("/onduty", "/onduty" + PATH, 200), ("/api", PATH, 404)):
            request = put("ann", b'{"state": "active"}')
            ours = await hot.call(*request, root_path=root_path, path=path)
            theirs = await framework.call(*request, root_path=root_path, path=path)
            assert ours == theirs
            assert ours.status == status, (root_path, ours)
        assert hot.framework_calls == ["/onduty" + PATH, PATH]


async def test_header_names_not_in_lower_case_are_the_framework_s(sqlite_template: Path, tmp_path: Path) -> None:
    async with two_sides(sqlite_template, tmp_path) as (hot, framework):
        answer, alone = await both(hot, framework, put("ann", b'{"state": "active"}', (b"Origin", b"http://x.example")))
        assert (answer.status, alone) == (200, False)
        assert (b"access-control-allow-methods", b"*") in answer.headers


async def test_the_route_has_no_hook_the_hot_path_would_skip(sqlite_template: Path, tmp_path: Path) -> None:
    """hot_path.py answers without the framework: a middleware, guard, hook or response header
    added to this route (or to the whole app) must be added there too. This fails first."""
    async with two_sides(sqlite_template, tmp_path) as (hot, _):
        app = hot.app
        routes = [r for r in app.routes if r.path == PATH and isinstance(r, HTTPRoute)]
        (handler,) = [h for route in routes for h in route.route_handlers if "PUT" in h.http_methods]
        assert handler.fn.__name__ == "set_own_status"
        assert handler.resolve_middleware() == []
        assert handler.resolve_guards() == []
        assert handler.resolve_before_request() is strict_body  # the strict body check the hot path makes
        assert handler.resolve_after_response() is None
        assert handler.after_request is None
        assert handler.resolve_response_headers() == frozenset()
        assert handler.resolve_response_cookies() == frozenset()
        assert handler.resolve_request_max_body_size() == MAX_BODY
        assert app.before_send == [] and app.after_exception == []
