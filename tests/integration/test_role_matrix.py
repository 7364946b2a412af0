"""Who may do what: every endpoint × every role, and nothing leaking across teams.

PRODUCT.md, "Everywhere": people see and do only what their role and team allow.
API.md's "who" column is the contract; where it is silent the choice is written
next to the row. Roles: agent, supervisor, admin, integration, and a caller with
no token at all ("anonymous").

Outcomes: an allowed pair answers its 2xx; a forbidden pair answers 403 or 404
(404 where saying "forbidden" would tell that the thing exists) with the error
shape; without a token every call but sign-in answers 401.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from onduty.domain.chat import Room
from onduty.storage.database import resolve
from onduty.web.app import create_app
from tests.integration.api_client import Api, OpenApiMismatch, Person

ANONYMOUS = "anonymous"
ROLES = ("agent", "supervisor", "admin", "integration", ANONYMOUS)
TEAM = "a"  # the caller's team (agents and supervisors)
OTHER_TEAM = "b"
APPROVAL_REASON = "coaching"  # a reason that requires approval (S4)
TODAY = {"period": "day"}  # the reports' period
_SERIAL = itertools.count(1)

# -- who, as sets of roles -----------------------------------------------------------

ANYONE = frozenset({"agent", "supervisor", "admin", "integration", ANONYMOUS})
SIGNED_IN = frozenset({"agent", "supervisor", "admin", "integration"})
AGENT = frozenset({"agent"})
SUPERVISION = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})
PEOPLE = frozenset({"agent", "supervisor", "admin"})  # C1: the chat is for people, not programs
NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    body: Any = None
    params: dict[str, Any] | None = None


@dataclass(slots=True)
class Scene:
    """One row's world. Everything a row acts on is in the caller's team (A), made
    fresh for the row, so rows never depend on each other. Cross-team refusals are
    the business of the tests further down."""

    api: Api
    role: str
    caller: Person | None
    supervisor: Person  # team A's supervisor, who sets things up
    integration: Person  # pushes client messages in

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(_SERIAL)}"

    async def agent(self, *, own: bool = False) -> Person:
        """The caller when `own` and the caller is an agent; otherwise a new agent of
        team A. Logged in (not_ready: nobody is eligible, so threads wait in the queue)."""
        if own and self.role == "agent":
            assert self.caller is not None
            who = self.caller
        else:
            who = await self.api.person("agent", team=TEAM)
        await self.api.call(who, "POST", "/me/login", expect=200)
        return who

    async def thread(self, holder: Person) -> dict[str, Any]:
        """A new thread assigned to `holder` (a supervisor's transfer: R3)."""
        body = {"client_id": self.unique("client-"), "text": "hello"}
        thread: dict[str, Any] = await self.api.json(self.integration, "POST", "/threads", body, expect=201)
        if thread["agent_id"] != holder.id:
            path = f"/threads/{thread['id']}/transfer"
            thread = await self.api.json(self.supervisor, "POST", path, {"agent_id": holder.id}, expect=200)
        assert thread["agent_id"] == holder.id
        return thread

    async def approval(self, agent: Person) -> int:
        """A pending approval request of `agent` (logged in)."""
        body = {"state": "inactive", "reason": APPROVAL_REASON}
        request = await self.api.json(agent, "PUT", "/me/status", body, expect=202)
        request_id: int = request["id"]
        return request_id

    async def reason(self) -> str:
        code = self.unique("reason")
        body = {"code": code, "label": f"Label {code}"}
        await self.api.call(self.api.admin, "POST", "/reasons", body, expect=201)
        return code


Prepare = Callable[[Scene], Awaitable[Call]]


@dataclass(frozen=True, slots=True)
class Row:
    endpoint: str
    allowed: frozenset[str]
    success: int
    prepare: Prepare
    why: str = ""  # where API.md is silent or the code differs: the reading chosen

    def expected(self, role: str) -> str:
        if role in self.allowed:
            return str(self.success)
        return "401" if role == ANONYMOUS else "403/404"


# -- how each row builds its call ----------------------------------------------------


async def _sign_in(s: Scene) -> Call:
    person = await s.api.person("agent", team=TEAM, password="correct horse")
    return Call("POST", "/auth/token", {"username": person.username, "password": "correct horse"})


def plain(method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Prepare:
    async def prepare(_: Scene) -> Call:
        return Call(method, path, body, params)

    return prepare


async def _logout(s: Scene) -> Call:
    if s.role == "agent":
        await s.agent(own=True)  # logged in, so that the logout is one
    return Call("POST", "/me/logout")


async def _needs_approval(s: Scene) -> Call:
    if s.role == "agent":
        await s.agent(own=True)  # a request needs the agent logged in (rules.md S4)
    return Call("PUT", "/me/status", {"state": "inactive", "reason": APPROVAL_REASON})


async def _continue(s: Scene) -> Call:
    if s.role == "agent":  # only an agent can be prompted: make it so (S6)
        agent = await s.agent(own=True)
        await s.api.call(agent, "PUT", "/me/status", {"state": "active"}, expect=200)
        await s.thread(agent)
        settings = await s.api.json(agent, "GET", "/settings", expect=200)
        await s.api.advance(settings["response_timeout"])
        me = await s.api.json(agent, "GET", "/me", expect=200)
        assert me["agent"]["prompt_deadline"] is not None
    return Call("POST", "/me/continue")


def agent_path(template: str, *, own: bool, body: Any = None, method: str = "GET") -> Prepare:
    async def prepare(s: Scene) -> Call:
        agent = await s.agent(own=own)
        return Call(method, template.format(id=agent.id), body)

    return prepare


def approval_path(verb: str, *, own: bool) -> Prepare:
    async def prepare(s: Scene) -> Call:
        request_id = await s.approval(await s.agent(own=own))
        return Call("POST", f"/approvals/{request_id}/{verb}")

    return prepare


def thread_call(method: str, suffix: str, *, own: bool, body: Any = None) -> Prepare:
    """A call on a thread held by the caller (`own`, when an agent) or by a teammate."""

    async def prepare(s: Scene) -> Call:
        thread = await s.thread(await s.agent(own=own))
        return Call(method, f"/threads/{thread['id']}{suffix}", body)

    return prepare


def transfer(*, own: bool) -> Prepare:
    async def prepare(s: Scene) -> Call:
        thread = await s.thread(await s.agent(own=own))
        target = await s.agent()
        return Call("POST", f"/threads/{thread['id']}/transfer", {"agent_id": target.id})

    return prepare


def pin(method: str, *, own: bool) -> Prepare:
    async def prepare(s: Scene) -> Call:
        thread = await s.thread(await s.agent(own=own))
        return Call(method, f"/threads/{thread['id']}/messages/{thread['messages'][0]['id']}/pin")

    return prepare


async def _threads_of_teammate(s: Scene) -> Call:
    teammate = await s.agent()
    await s.thread(teammate)
    return Call("GET", "/threads", params={"agent_id": teammate.id})


async def _new_thread(s: Scene) -> Call:
    return Call("POST", "/threads", {"client_id": s.unique("client-"), "text": "hello"})


def reason_call(method: str, body: Any = None) -> Prepare:
    async def prepare(s: Scene) -> Call:
        return Call(method, f"/reasons/{await s.reason()}", body)

    return prepare


async def _add_reason(s: Scene) -> Call:
    code = s.unique("added")
    return Call("POST", "/reasons", {"code": code, "label": "Added"})


async def _add_user(s: Scene) -> Call:
    return Call("POST", "/users", {"username": s.unique("newcomer"), "role": "agent", "team": TEAM})


# -- the matrix ------------------------------------------------------------------------


def chat_call(method: str, suffix: str, *, room: bool, body: Any = None) -> Prepare:
    """A call on team A's room, or on a direct conversation of two others (team A's
    supervisor and a teammate), each with a message in it."""

    async def prepare(s: Scene) -> Call:
        if room:
            to: dict[str, Any] = {"conversation_id": Room(TEAM).id}
        else:
            to = {"to_user_id": (await s.agent()).id}
        sent = await s.api.json(s.supervisor, "POST", "/chat/messages", {**to, "text": "hello"}, expect=201)
        filled = body(sent) if callable(body) else body
        return Call(method, f"/chat/conversations/{sent['conversation_id']}{suffix}", filled)

    return prepare


async def _message_to_a_supervisor(s: Scene) -> Call:
    return Call("POST", "/chat/messages", {"to_user_id": s.supervisor.id, "text": "can you take this one?"})


def _read_it(sent: dict[str, Any]) -> dict[str, Any]:
    return {"up_to": sent["id"]}


CHAT_MATRIX = (
    Row("GET /chat/conversations", PEOPLE, 200, plain("GET", "/chat/conversations"), "C1: people, not programs"),
    Row("GET /chat/people", PEOPLE, 200, plain("GET", "/chat/people")),
    Row("POST /chat/messages (to a person)", PEOPLE, 201, _message_to_a_supervisor),
    Row(
        "POST /chat/messages (to the team's room)",
        PEOPLE,
        201,
        plain("POST", "/chat/messages", {"conversation_id": Room(TEAM).id, "text": "back from lunch"}),
        "C1: a room is its team's agents and supervisors; admins may join any",
    ),
    Row("GET /chat/conversations/{team room}/messages", PEOPLE, 200, chat_call("GET", "/messages", room=True)),
    Row("GET /chat/conversations/{others' direct}/messages", NOBODY, 200, chat_call("GET", "/messages", room=False)),
    Row("POST /chat/conversations/{team room}/read", PEOPLE, 200, chat_call("POST", "/read", room=True, body=_read_it)),
    Row(
        "POST /chat/conversations/{others' direct}/read",
        NOBODY,
        200,
        chat_call("POST", "/read", room=False, body=_read_it),
    ),
)


MATRIX: tuple[Row, ...] = (
    Row("POST /auth/token", ANYONE, 200, _sign_in),
    Row(
        "POST /auth/logout",
        SIGNED_IN,
        204,
        plain("POST", "/auth/logout"),
        "not in API.md; like every call but sign-in it needs a token (401 without one)",
    ),
    Row("GET /me", SIGNED_IN, 200, plain("GET", "/me")),
    Row("POST /events/ticket", SIGNED_IN, 200, plain("POST", "/events/ticket")),
    Row("POST /me/login", AGENT, 200, plain("POST", "/me/login")),
    Row("POST /me/logout", AGENT, 200, _logout),
    Row("PUT /me/status", AGENT, 200, plain("PUT", "/me/status", {"state": "inactive", "reason": "lunch"})),
    Row("PUT /me/status (needs approval)", AGENT, 202, _needs_approval),
    Row("POST /me/continue", AGENT, 200, _continue),
    Row("GET /agents", SUPERVISION, 200, plain("GET", "/agents")),
    Row("GET /agents?team=own", SUPERVISION, 200, plain("GET", "/agents", params={"team": TEAM})),
    Row("GET /agents/{teammate}", SUPERVISION, 200, agent_path("/agents/{id}", own=False)),
    Row("GET /agents/{self}", frozenset({"agent", "supervisor", "admin"}), 200, agent_path("/agents/{id}", own=True)),
    Row(
        "PUT /agents/{teammate}/status",
        SUPERVISION,
        200,
        agent_path("/agents/{id}/status", own=False, method="PUT", body={"state": "inactive", "reason": "meeting"}),
    ),
    Row(
        "PUT /agents/{self}/status",
        SUPERVISION,
        200,
        agent_path("/agents/{id}/status", own=True, method="PUT", body={"state": "inactive", "reason": "meeting"}),
        "an agent changes their own status through PUT /me/status only",
    ),
    Row(
        "PATCH /agents/{id}",
        ADMIN,
        200,
        agent_path("/agents/{id}", own=False, method="PATCH", body={"capacity": 2}),
        "not in API.md: team and capacity are configuration, an admin's",
    ),
    Row("GET /approvals", SUPERVISION, 200, plain("GET", "/approvals", params={"state": "pending"})),
    Row("POST /approvals/{teammate's}/approve", SUPERVISION, 200, approval_path("approve", own=False)),
    Row("POST /approvals/{teammate's}/reject", SUPERVISION, 200, approval_path("reject", own=False)),
    Row("POST /approvals/{own}/approve", SUPERVISION, 200, approval_path("approve", own=True)),
    Row("GET /reasons", SIGNED_IN, 200, plain("GET", "/reasons")),
    Row("POST /reasons", ADMIN, 201, _add_reason),
    Row("PATCH /reasons/{code}", ADMIN, 200, reason_call("PATCH", {"label": "Relabelled"})),
    Row("DELETE /reasons/{code}", ADMIN, 200, reason_call("DELETE")),
    Row("GET /settings", SIGNED_IN, 200, plain("GET", "/settings")),
    Row("PATCH /settings", ADMIN, 200, plain("PATCH", "/settings", {"strategy": "least_busy"})),
    Row("POST /threads", frozenset({"integration", "admin"}), 201, _new_thread),
    Row(
        "GET /threads",
        SIGNED_IN,
        200,
        plain("GET", "/threads"),
        "'by role': an agent their own, a supervisor their team's and the queue, admin and integration all",
    ),
    Row(
        "GET /threads?agent_id={teammate}",
        frozenset({"supervisor", "admin", "integration"}),
        200,
        _threads_of_teammate,
    ),
    Row("GET /threads/{own}", SIGNED_IN, 200, thread_call("GET", "", own=True)),
    Row(
        "GET /threads/{teammate's}",
        frozenset({"supervisor", "admin", "integration"}),
        200,
        thread_call("GET", "", own=False),
        "integration carries every conversation to and from clients, so it reads every thread",
    ),
    Row("POST /threads/{own}/messages", AGENT, 201, thread_call("POST", "/messages", own=True, body={"text": "hi"})),
    Row(
        "POST /threads/{teammate's}/messages",
        NOBODY,
        201,
        thread_call("POST", "/messages", own=False, body={"text": "hi"}),
    ),
    Row(
        "POST /threads/{own}/close",
        frozenset({"agent", "supervisor"}),
        200,
        thread_call("POST", "/close", own=True),
        "API.md: the holding agent, supervisor (admins configure; they do not work threads)",
    ),
    Row("POST /threads/{teammate's}/close", frozenset({"supervisor"}), 200, thread_call("POST", "/close", own=False)),
    Row(
        "POST /threads/{own}/transfer",
        frozenset({"agent", "supervisor"}),
        200,
        transfer(own=True),
        "API.md: agent, supervisor",
    ),
    Row("POST /threads/{teammate's}/transfer", frozenset({"supervisor"}), 200, transfer(own=False)),
    Row("POST /threads/{own}/messages/{mid}/pin", AGENT, 200, pin("POST", own=True)),
    Row("DELETE /threads/{own}/messages/{mid}/pin", AGENT, 200, pin("DELETE", own=True)),
    Row("POST /threads/{teammate's}/messages/{mid}/pin", NOBODY, 200, pin("POST", own=False)),
    Row("GET /queue", SUPERVISION, 200, plain("GET", "/queue")),
    Row("GET /floor", SUPERVISION, 200, plain("GET", "/floor"), "W5: a supervisor's own team, an admin the floor"),
    Row("GET /floor?team=a", SUPERVISION, 200, plain("GET", "/floor", params={"team": TEAM})),
    Row("GET /reports/status-log", SUPERVISION, 200, plain("GET", "/reports/status-log", params=TODAY)),
    Row(
        "GET /reports/status-log?format=csv",
        SUPERVISION,
        200,
        plain("GET", "/reports/status-log", params={**TODAY, "format": "csv"}),
    ),
    Row("GET /reports/workload", SUPERVISION, 200, plain("GET", "/reports/workload", params=TODAY)),
    Row(
        "GET /reports/workload?format=csv",
        SUPERVISION,
        200,
        plain("GET", "/reports/workload", params={**TODAY, "format": "csv"}),
    ),
    Row("GET /presence", SIGNED_IN, 200, plain("GET", "/presence")),
    Row("GET /users", ADMIN, 200, plain("GET", "/users")),
    Row("POST /users", ADMIN, 201, _add_user),
    Row(
        "GET /teams",
        SUPERVISION,
        200,
        plain("GET", "/teams"),
        "not in API.md: a supervisor gets their own team, an admin all",
    ),
    *CHAT_MATRIX,
)


async def caller_for(api: Api, role: str) -> Person | None:
    """A new caller for every row: some rows spend the token (logout) or change the caller."""
    if role == ANONYMOUS:
        return None
    return await api.person(role, team=TEAM if role in ("agent", "supervisor") else None)


def check(row: Row, role: str, response: httpx.Response, api: Api) -> str | None:
    """What is wrong with this answer, or None."""
    got = response.status_code
    if role in row.allowed:
        return None if got == row.success else f"expected {row.expected(role)}"
    if got not in ((401,) if role == ANONYMOUS else (403, 404)):
        return f"expected {row.expected(role)}"
    try:
        api.error(response)
    except AssertionError:
        return "refused without the error shape"
    return None


def test_the_matrix_covers_every_operation_of_the_api() -> None:
    """Every operation the server publishes under /api/v1 has at least one row."""

    def shape(operation: str) -> str:
        operation = re.sub(r" \(.*\)$", "", operation).split("?")[0]
        return re.sub(r"\{[^}]*\}", "{}", operation)

    document = create_app(resolve("sqlite:///unused.db")).openapi_schema.to_schema()
    published = {
        shape(f"{method.upper()} {path.removeprefix('/api/v1')}")
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert published == {shape(row.endpoint) for row in MATRIX}


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(api: Api, role: str) -> None:
    """Every endpoint as this role: allowed pairs answer their 2xx, forbidden ones 403/404,
    no token 401; every answer matches the OpenAPI document."""
    supervisor = await api.person("supervisor", team=TEAM)
    integration = await api.person("integration")
    await api.call(
        api.admin, "POST", "/reasons", {"code": APPROVAL_REASON, "label": "Coaching", "requires_approval": True}
    )
    failures: list[str] = []
    for row in MATRIX:
        caller = await caller_for(api, role)
        scene = Scene(api, role, caller, supervisor, integration)
        call = await row.prepare(scene)
        try:
            response = await api.call(caller, call.method, call.path, call.body, params=call.params)
        except OpenApiMismatch as mismatch:
            failures.append(f"{row.endpoint} as {role}: {mismatch}")
            continue
        problem = check(row, role, response, api)
        if problem is not None:
            reading = f" ({row.why})" if row.why else ""
            failures.append(
                f"{row.endpoint} as {role}: {problem}{reading}, got {response.status_code} {response.text[:200]}"
            )
    assert not failures, "\n".join(failures)


# -- nothing leaks: refusals, and that they changed nothing --------------------------

GHOST = 999_999  # an id nothing has


async def refused(api: Api, who: Person, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
    """The call is refused (403 or 404) with the error shape; answers the error."""
    response = await api.call(who, method, path, body, **kw)
    assert response.status_code in (403, 404), f"{method} {path}: {response.status_code} {response.text}"
    return api.error(response)


async def refused_like_nothing(
    api: Api, who: Person, method: str, path: str, ghost_path: str, body: Any = None
) -> None:
    """Refused exactly as if the thing did not exist: the answer tells nothing about it."""
    seen = await api.call(who, method, path, body)
    ghost = await api.call(who, method, ghost_path, body)
    assert seen.status_code in (403, 404), f"{method} {path}: {seen.status_code} {seen.text}"
    assert seen.status_code == ghost.status_code, (seen.text, ghost.text)
    hidden, missing = api.error(seen), api.error(ghost)
    assert {**hidden, "message": _no_digits(hidden["message"])} == {
        **missing,
        "message": _no_digits(missing["message"]),
    }


def _no_digits(text: str) -> str:
    return re.sub(r"\d+", "#", text)


async def held_thread(api: Api, supervisor: Person, holder: Person, client_id: str) -> dict[str, Any]:
    """A thread assigned to `holder` through their supervisor's transfer (nobody is eligible)."""
    thread = await api.json(api.admin, "POST", "/threads", {"client_id": client_id, "text": "hello"}, expect=201)
    assert thread["state"] == "queued"
    path = f"/threads/{thread['id']}/transfer"
    moved: dict[str, Any] = await api.json(supervisor, "POST", path, {"agent_id": holder.id}, expect=200)
    return moved


async def logged_in_agent(api: Api, team: str) -> Person:
    agent = await api.person("agent", team=team)
    await api.call(agent, "POST", "/me/login", expect=200)
    return agent


async def approval_reason(api: Api) -> None:
    body = {"code": APPROVAL_REASON, "label": "Coaching", "requires_approval": True}
    await api.call(api.admin, "POST", "/reasons", body, expect=201)


async def ask_approval(api: Api, agent: Person) -> int:
    body = {"state": "inactive", "reason": APPROVAL_REASON}
    request_id: int = (await api.json(agent, "PUT", "/me/status", body, expect=202))["id"]
    return request_id


async def test_a_supervisor_neither_sees_nor_acts_on_another_teams_agents(api: Api) -> None:
    """W6: a supervisor sees, closes and transfers their team's threads and the queue's, to
    their own team only; another team's agents, requests and threads are as if none were."""
    sup_a = await api.person("supervisor", team=TEAM)
    sup_b = await api.person("supervisor", team=OTHER_TEAM)
    a1 = await logged_in_agent(api, TEAM)
    b1 = await logged_in_agent(api, OTHER_TEAM)
    await approval_reason(api)
    ta = await held_thread(api, sup_a, a1, "client-a")
    tb = await held_thread(api, sup_b, b1, "client-b")
    queued = await api.json(api.admin, "POST", "/threads", {"client_id": "client-q", "text": "hi"}, expect=201)
    ra = await ask_approval(api, a1)
    rb = await ask_approval(api, b1)

    # Sees: only their team, plus the general queue every supervisor watches.
    rows = await api.json(sup_a, "GET", "/agents", expect=200)
    assert [r["id"] for r in rows] == [a1.id]
    for status in ("not_ready", "offline", "inactive"):
        rows = await api.json(sup_a, "GET", "/agents", params={"status": status}, expect=200)
        assert b1.id not in [r["id"] for r in rows]
    await refused(api, sup_a, "GET", "/agents", params={"team": OTHER_TEAM})
    await refused_like_nothing(api, sup_a, "GET", f"/agents/{b1.id}", f"/agents/{GHOST}")
    for params in ({}, {"state": "pending"}):
        approvals = await api.json(sup_a, "GET", "/approvals", params=params, expect=200)
        assert [r["id"] for r in approvals] == [ra]
    page = await api.json(sup_a, "GET", "/threads", expect=200)
    assert [t["id"] for t in page["items"]] == [ta["id"], queued["id"]]
    page = await api.json(sup_a, "GET", "/threads", params={"state": "assigned"}, expect=200)
    assert [t["id"] for t in page["items"]] == [ta["id"]]
    await refused(api, sup_a, "GET", "/threads", params={"agent_id": b1.id})
    await refused_like_nothing(api, sup_a, "GET", f"/threads/{tb['id']}", f"/threads/{GHOST}")
    assert await api.json(sup_a, "GET", "/teams", expect=200) == [TEAM]
    log = await api.json(sup_a, "GET", "/reports/status-log", params=TODAY, expect=200)
    assert {r["agent_id"] for r in log["items"]} == {a1.id}
    report = await api.json(sup_a, "GET", "/reports/workload", params=TODAY, expect=200)
    assert b1.id not in [r["agent_id"] for r in report["agents"]]
    assert {t["team"] for t in report["teams"]} <= {TEAM}
    for path in ("/reports/status-log", "/reports/workload"):
        text = (await api.call(sup_a, "GET", path, params={**TODAY, "format": "csv"}, expect=200)).text
        cells = {cell for line in csv.reader(io.StringIO(text)) for cell in line}
        assert b1.username not in cells and OTHER_TEAM not in cells, path
        assert path.endswith("workload") or a1.username in cells  # the status log: a1's login
    for path in ("/reports/status-log", "/reports/workload"):
        await refused(api, sup_a, "GET", path, params={**TODAY, "team": OTHER_TEAM})
    await refused(api, sup_a, "GET", "/floor", params={"team": OTHER_TEAM})  # W5
    assert (await api.json(sup_a, "GET", "/floor", expect=200))["counts"]["not_ready"] == 1  # a1, not b1
    await refused(api, sup_a, "GET", "/reports/status-log", params={**TODAY, "agent_id": b1.id})

    # Acts: not on team B's agents, requests or threads.
    await refused_like_nothing(
        api,
        sup_a,
        "PUT",
        f"/agents/{b1.id}/status",
        f"/agents/{GHOST}/status",
        {"state": "inactive", "reason": "lunch"},
    )
    for verb in ("approve", "reject"):
        await refused_like_nothing(api, sup_a, "POST", f"/approvals/{rb}/{verb}", f"/approvals/{GHOST}/{verb}")
    await refused_like_nothing(api, sup_a, "POST", f"/threads/{tb['id']}/close", f"/threads/{GHOST}/close")
    await refused_like_nothing(
        api, sup_a, "POST", f"/threads/{tb['id']}/transfer", f"/threads/{GHOST}/transfer", {"agent_id": a1.id}
    )
    # W6: nor hands work to team B: their team's thread or the queue's, to b1, answers as if
    # b1 were no agent at all.
    for tid in (ta["id"], queued["id"]):
        seen = await api.call(sup_a, "POST", f"/threads/{tid}/transfer", {"agent_id": b1.id}, expect=400)
        ghost = await api.call(sup_a, "POST", f"/threads/{tid}/transfer", {"agent_id": GHOST}, expect=400)
        hidden, missing = api.error(seen), api.error(ghost)
        assert hidden["field"] == "agent_id"
        assert {**hidden, "message": _no_digits(hidden["message"])} == {
            **missing,
            "message": _no_digits(missing["message"]),
        }

    # ... and nothing changed for team B.
    row = await api.json(sup_b, "GET", f"/agents/{b1.id}", expect=200)
    assert row["status"]["state"] == "not_ready"
    assert row["pending_request"]["id"] == rb
    assert row["threads"] == 1
    thread = await api.json(sup_b, "GET", f"/threads/{tb['id']}", expect=200)
    assert (thread["state"], thread["agent_id"]) == ("assigned", b1.id)
    # Team A's thread and the queue's stayed where they were.
    thread = await api.json(sup_a, "GET", f"/threads/{ta['id']}", expect=200)
    assert (thread["state"], thread["agent_id"]) == ("assigned", a1.id)
    thread = await api.json(sup_a, "GET", f"/threads/{queued['id']}", expect=200)
    assert (thread["state"], thread["agent_id"]) == ("queued", None)
    approvals = await api.json(sup_b, "GET", "/approvals", params={"state": "pending"}, expect=200)
    assert [r["id"] for r in approvals] == [rb]


async def test_an_agent_sees_and_acts_only_on_their_own(api: Api) -> None:
    supervisor = await api.person("supervisor", team=TEAM)
    a1 = await logged_in_agent(api, TEAM)
    a2 = await logged_in_agent(api, TEAM)
    await approval_reason(api)
    t1 = await held_thread(api, supervisor, a1, "client-1")
    t2 = await held_thread(api, supervisor, a2, "client-2")
    tq = await api.json(api.admin, "POST", "/threads", {"client_id": "client-q", "text": "hi"}, expect=201)
    r2 = await ask_approval(api, a2)

    me = await api.json(a1, "GET", "/me", expect=200)
    assert (me["id"], me["agent"]["id"], me["status"]["state"]) == (a1.id, a1.id, "not_ready")
    assert (await api.json(a1, "GET", f"/agents/{a1.id}", expect=200))["id"] == a1.id
    page = await api.json(a1, "GET", "/threads", expect=200)
    assert [t["id"] for t in page["items"]] == [t1["id"]]
    page = await api.json(a1, "GET", "/threads", params={"agent_id": a1.id}, expect=200)
    assert [t["id"] for t in page["items"]] == [t1["id"]]
    await refused(api, a1, "GET", "/threads", params={"agent_id": a2.id})
    for other in (t2, tq):
        await refused_like_nothing(api, a1, "GET", f"/threads/{other['id']}", f"/threads/{GHOST}")
        await refused_like_nothing(api, a1, "POST", f"/threads/{other['id']}/close", f"/threads/{GHOST}/close")
        await refused_like_nothing(
            api, a1, "POST", f"/threads/{other['id']}/messages", f"/threads/{GHOST}/messages", {"text": "mine"}
        )
        await refused_like_nothing(
            api, a1, "POST", f"/threads/{other['id']}/transfer", f"/threads/{GHOST}/transfer", {"agent_id": a1.id}
        )
        mid = other["messages"][0]["id"]
        for method in ("POST", "DELETE"):
            await refused(api, a1, method, f"/threads/{other['id']}/messages/{mid}/pin")
    await refused_like_nothing(api, a1, "GET", f"/agents/{a2.id}", f"/agents/{GHOST}")
    await refused(api, a1, "PUT", f"/agents/{a2.id}/status", {"state": "inactive", "reason": "lunch"})
    await refused(api, a1, "PUT", f"/agents/{a1.id}/status", {"state": "active"})
    for path in ("/agents", "/approvals", "/queue", "/teams", "/users"):
        await refused(api, a1, "GET", path)
    await refused(api, a1, "POST", f"/approvals/{r2}/approve")
    await refused(api, a1, "POST", f"/approvals/{r2}/reject")

    # Nothing changed for a2 or the queue.
    row = await api.json(supervisor, "GET", f"/agents/{a2.id}", expect=200)
    assert (row["status"]["state"], row["pending_request"]["id"], row["pinned_messages"]) == ("not_ready", r2, 0)
    thread = await api.json(supervisor, "GET", f"/threads/{t2['id']}", expect=200)
    assert (thread["state"], thread["agent_id"], len(thread["messages"])) == ("assigned", a2.id, 1)
    queue = await api.json(supervisor, "GET", "/queue", expect=200)
    assert [item["id"] for item in queue["items"]] == [tq["id"]]


async def test_integration_only_pushes_client_messages_in(api: Api) -> None:
    supervisor = await api.person("supervisor", team=TEAM)
    integration = await api.person("integration")
    agent = await logged_in_agent(api, TEAM)
    await approval_reason(api)
    held = await held_thread(api, supervisor, agent, "client-1")
    request_id = await ask_approval(api, agent)
    settings = await api.json(api.admin, "GET", "/settings", expect=200)
    reasons = await api.json(api.admin, "GET", "/reasons", expect=200)

    # It pushes client messages in (a new thread, or more on the client's open one) and reads them.
    fresh = await api.json(integration, "POST", "/threads", {"client_id": "client-2", "text": "hi"}, expect=201)
    more = await api.json(integration, "POST", "/threads", {"client_id": "client-1", "text": "again"}, expect=201)
    assert more["id"] == held["id"] and len(more["messages"]) == 2
    page = await api.json(integration, "GET", "/threads", expect=200)
    assert {t["id"] for t in page["items"]} == {held["id"], fresh["id"]}
    for path in ("/me", "/reasons", "/settings", "/presence", f"/threads/{held['id']}"):
        await api.call(integration, "GET", path, expect=200)

    # Nothing else.
    tid, mid = held["id"], held["messages"][0]["id"]
    for method, path, body in (
        ("POST", "/me/login", None),
        ("POST", "/me/logout", None),
        ("PUT", "/me/status", {"state": "active"}),
        ("POST", "/me/continue", None),
        ("PUT", f"/agents/{agent.id}/status", {"state": "active"}),
        ("PATCH", f"/agents/{agent.id}", {"capacity": 1}),
        ("POST", f"/approvals/{request_id}/approve", None),
        ("POST", f"/approvals/{request_id}/reject", None),
        ("PATCH", "/settings", {"response_timeout": 5}),
        ("POST", "/reasons", {"code": "sneaky", "label": "Sneaky"}),
        ("PATCH", "/reasons/lunch", {"label": "Sneaky"}),
        ("DELETE", "/reasons/lunch", None),
        ("POST", f"/threads/{tid}/messages", {"text": "answering for the agent"}),
        ("POST", f"/threads/{tid}/close", None),
        ("POST", f"/threads/{tid}/transfer", {"agent_id": agent.id}),
        ("POST", f"/threads/{tid}/messages/{mid}/pin", None),
        ("POST", "/users", {"username": "sneaky", "role": "admin"}),
    ):
        await refused(api, integration, method, path, body)
    for path in ("/agents", f"/agents/{agent.id}", "/approvals", "/queue", "/users", "/teams"):
        await refused(api, integration, "GET", path)

    # ... and nothing changed.
    assert await api.json(api.admin, "GET", "/settings", expect=200) == settings
    assert await api.json(api.admin, "GET", "/reasons", expect=200) == reasons
    row = await api.json(supervisor, "GET", f"/agents/{agent.id}", expect=200)
    assert (row["status"]["state"], row["pending_request"]["id"], row["capacity"]) == ("not_ready", request_id, 3)
    thread = await api.json(supervisor, "GET", f"/threads/{tid}", expect=200)
    assert (thread["state"], thread["agent_id"], len(thread["messages"])) == ("assigned", agent.id, 2)
    assert not any(m["pinned"] for m in thread["messages"])
    users = await api.json(api.admin, "GET", "/users", expect=200)
    assert "sneaky" not in [u["username"] for u in users]


async def test_an_unknown_or_revoked_token_is_401(api: Api) -> None:
    agent = await api.person("agent", team=TEAM)
    await api.call(agent, "GET", "/me", expect=200)
    await api.call(agent, "POST", "/auth/logout", expect=204)
    for who in (agent, Person(0, "nobody", "agent", "not-a-token")):
        for method, path in (("GET", "/me"), ("GET", "/reasons"), ("POST", "/me/login"), ("POST", "/auth/logout")):
            response = await api.call(who, method, path, expect=401)
            assert api.error(response)["code"] == "unauthorized"


async def test_r4_a_thread_waiting_for_another_teams_agent_is_not_a_supervisors(api: Api) -> None:
    sup_a = await api.person("supervisor", team=TEAM)
    owner = await api.ready_agent(team=OTHER_TEAM)
    await api.call(api.admin, "PATCH", "/settings", {"affinity_wait": 300}, expect=200)
    first = await api.json(api.admin, "POST", "/threads", {"client_id": "x", "text": "hi"}, expect=201)
    await api.call(owner, "POST", f"/threads/{first['id']}/messages", {"text": "hello"}, expect=201)
    await api.call(owner, "POST", f"/threads/{first['id']}/close", expect=200)
    await api.call(owner, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
    waiting = await api.json(api.admin, "POST", "/threads", {"client_id": "x", "text": "again"}, expect=201)
    assert waiting["state"] == "queued"
    page = await api.json(sup_a, "GET", "/threads", expect=200)
    assert waiting["id"] not in [t["id"] for t in page["items"]]
    await refused_like_nothing(api, sup_a, "GET", f"/threads/{waiting['id']}", f"/threads/{GHOST}")
