"""A test client for the onduty API: people with roles, and every response checked
against the published OpenAPI document (status code and body)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from litestar import Litestar

from onduty.service.clock import ManualClock
from onduty.service.service import Service
from onduty.storage.store import SqlStore
from onduty.web import schemas as s
from onduty.web.context import AppContext
from onduty.web.routes_admin import create


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    username: str
    role: str
    token: str
    team: str | None = None


class OpenApiMismatch(AssertionError):
    pass


class OpenApi:
    """Finds the documented response for (method, path, status) and validates the body."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = document.get("components", {})
        self.routes: list[tuple[re.Pattern[str], str]] = []
        for template in document["paths"]:
            pattern = re.sub(r"\{[^}]+\}", r"[^/]+", template)
            self.routes.append((re.compile(f"^{pattern}$"), template))
        # Fixed paths before templated ones, so /agents/me never matches /agents/{id} by accident.
        self.routes.sort(key=lambda route: route[1].count("{"))

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        template = next((t for pattern, t in self.routes if pattern.match(path)), None)
        if template is None:
            raise OpenApiMismatch(f"{method} {path} is not in the OpenAPI document")
        operation = self.document["paths"][template].get(method.lower())
        if operation is None:
            raise OpenApiMismatch(f"{method} is not documented for {template}")
        documented = operation.get("responses", {})
        spec = documented.get(str(response.status_code))
        if spec is None:
            raise OpenApiMismatch(
                f"{method} {path} answered {response.status_code}, documented: {sorted(documented)}; "
                f"body: {response.text[:300]}"
            )
        content = spec.get("content", {})
        if not content or not response.content:
            return
        media = next(iter(content.values()))
        schema = media.get("schema")
        if schema is None or not response.headers.get("content-type", "").startswith("application/json"):
            return
        validator = Draft202012Validator({**schema, "components": self.components})
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            raise OpenApiMismatch(
                f"{method} {path} {response.status_code} does not match its documented schema at "
                f"{list(first.path)}: {first.message}"
            )


class Api:
    """HTTP calls as a given person; people are made through the same code the API uses."""

    def __init__(self, address: str, app: Litestar, clock: ManualClock) -> None:
        self.address = address
        self.base = f"http://{address}"
        self.app = app
        self.clock = clock
        self.http = httpx.AsyncClient(base_url=self.base, timeout=30)
        self.openapi: OpenApi | None = None
        self.admin: Person
        self._count = 0

    async def __aenter__(self) -> Api:
        self.openapi = OpenApi(json.loads((await self.http.get("/openapi.json")).text))
        self.admin = await self.person("admin", username="root")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    @property
    def store(self) -> SqlStore:
        """The database behind the API, for a test that looks at it or changes it directly."""
        return self.ctx.users.store

    @property
    def service(self) -> Service:
        """The service of this app's node: it owns the workspace (one instance)."""
        service = self.ctx.node.service
        assert service is not None
        return service

    async def person(
        self,
        role: str,
        *,
        team: str | None = None,
        username: str | None = None,
        capacity: int | None = None,
        password: str | None = None,
    ) -> Person:
        self._count += 1
        username = username or f"{role}{self._count}"
        if team is None and role in ("agent", "supervisor"):
            team = "support"
        created = await create(
            self.ctx,
            s.UserRequest(
                username=username,
                role=role,  # type: ignore[arg-type]
                team=team,
                capacity=capacity,
                password=password,
            ),
        )
        return Person(created.id, created.username, role, created.token, team)

    async def ready_agent(self, *, team: str = "support", capacity: int | None = None) -> Person:
        """An agent, logged in and active."""
        agent = await self.person("agent", team=team, capacity=capacity)
        await self.call(agent, "POST", "/me/login", expect=200)
        await self.call(agent, "PUT", "/me/status", {"state": "active"}, expect=200)
        return agent

    async def call(
        self,
        who: Person | None,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int | None = None,
        params: dict[str, Any] | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {who.token}"
        url = f"/api/v1{path}"
        if raw is not None:
            headers["Content-Type"] = "application/json"
            response = await self.http.request(method, url, content=raw, headers=headers, params=params)
        else:
            response = await self.http.request(method, url, json=body, headers=headers, params=params)
        assert self.openapi is not None
        self.openapi.check(method, f"/api/v1{path}", response)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    async def json(self, who: Person | None, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        return (await self.call(who, method, path, body, **kw)).json()

    async def advance(self, seconds: float) -> None:
        """Move the clock as time would pass: stopping at every deadline on the way, so each
        timer fires at its moment (S6, R4), then at the target."""
        target = self.clock.now() + seconds
        while (deadline := self.service.engine.next_deadline()) is not None and deadline <= target:
            self.clock.set(deadline)
            await self.service.settle()
        self.clock.set(target)
        await self.service.settle()

    def error(self, response: httpx.Response) -> dict[str, Any]:
        """The error body, checked to have the contract's shape (and, about several fields,
        the `errors` list, whose first is `error`), said in words, not in msgspec's terms."""
        body = response.json()
        assert set(body) in ({"error"}, {"error", "errors"}), body
        assert set(body["error"]) == {"code", "message", "field"}, body
        assert body["error"]["message"], body
        error: dict[str, Any] = body["error"]
        listed = body.get("errors", [{"field": error["field"], "message": error["message"]}])
        assert listed and all(set(e) == {"field", "message"} and e["message"] for e in listed), body
        assert listed[0] == {"field": error["field"], "message": error["message"]}, body
        assert not any("Expected `" in e["message"] for e in listed), body
        return error

    def errors(self, response: httpx.Response) -> dict[str | None, str]:
        """Every invalid field an error names, with its message."""
        self.error(response)
        listed = response.json().get("errors") or [response.json()["error"]]
        return {e["field"]: e["message"] for e in listed}
