"""Every answer carries the security headers: pages, API, static files, the API docs,
errors, 404s and 405s, to callers signed in or not (docs/security.md, "Headers").

The routes are read from the app itself, so a route added later is walked too.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from litestar.routes import BaseRoute, HTTPRoute, WebSocketRoute

from tests.integration.api_client import Api

# What a page may do, directive by directive: nothing inline, nothing from elsewhere.
PAGE_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "connect-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "object-src": {"'none'"},
}
SAMPLE_PARAMS = {int: "1", str: "x", Path: "onduty.css"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


def policy(response: httpx.Response) -> dict[str, set[str]]:
    values = response.headers.get_list("content-security-policy")
    assert len(values) == 1, values
    directives = (part.split() for part in values[0].split(";") if part.strip())
    return {name: set(sources) for name, *sources in directives}


def check(response: httpx.Response) -> None:
    what = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    headers = response.headers
    assert headers.get_list("x-content-type-options") == ["nosniff"], what
    assert headers.get_list("x-frame-options") == ["DENY"], what
    assert headers.get_list("referrer-policy") == ["no-referrer"], what
    assert "strict-transport-security" not in headers, what  # plain HTTP: the operator's proxy decides
    csp = policy(response)
    assert csp == PAGE_POLICY, f"{what}: {csp}"


def sample(route: BaseRoute) -> str:
    """The route's path with each parameter filled in by a value of its type."""
    path = route.path_format
    for name, parameter in route.path_parameters.items():
        path = path.replace(f"{{{name}}}", SAMPLE_PARAMS[parameter.type])
    return path


def calls(api: Api) -> list[tuple[str, str]]:
    """GET and every method each route takes, for every route of the app; signing out
    (which ends the caller's token) last."""
    found: set[tuple[str, str]] = set()
    for route in api.app.routes:
        assert isinstance(route, HTTPRoute | WebSocketRoute), route
        path = sample(route)
        methods = route.methods if isinstance(route, HTTPRoute) else set()
        found.update((method, path) for method in {"GET", *methods})
    found.update(
        {("GET", "/no/such/page"), ("POST", "/no/such/page"), ("DELETE", "/login"), ("GET", "/static/nope.js")}
    )
    return sorted(found, key=lambda call: (call[1].endswith("/logout"), call))


async def test_every_route_answers_with_the_security_headers_signed_in_or_not(api: Api) -> None:
    every = calls(api)
    assert len(every) > 80  # the walk really covers the app (about 100 calls today)
    statuses: set[int] = set()
    for token in (None, api.admin.token):
        signed_in = {"Authorization": f"Bearer {token}"} if token else {}
        for method, path in every:
            body = b"{}" if method in BODY_METHODS else None
            headers = {**signed_in, "Content-Type": "application/json"} if body is not None else signed_in
            response = await api.http.request(method, path, content=body, headers=headers)
            check(response)
            statuses.add(response.status_code)
    # Successes and the error kinds alike were walked (docs pages, refusals, unknown paths).
    assert {200, 400, 401, 404, 405} <= statuses, statuses


async def test_errors_the_framework_answers_itself_carry_them_too(api: Api) -> None:
    # A body over the limit (413), a CORS preflight from another site, a HEAD of a static file.
    check(await api.http.post("/api/v1/threads", content=b"x" * (1024 * 1024 + 1)))
    preflight = await api.http.options(
        "/api/v1/me", headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
    )
    check(preflight)
    check(await api.http.head("/static/onduty.css"))


async def test_the_api_document_is_served_without_a_viewer_from_another_host(api: Api) -> None:
    """Under /schema only the document itself (JSON, YAML): no browsable viewer, since those
    come from public CDNs and would run another host's code beside the signed-in token."""
    for path in ("/schema", "/schema/openapi.json", "/schema/openapi.yaml"):
        response = await api.http.get(path)
        check(response)
        assert response.status_code == 200, path
        assert not response.headers["content-type"].startswith("text/html"), path
    for viewer in ("/schema/swagger", "/schema/redoc", "/schema/elements", "/schema/rapidoc"):
        response = await api.http.get(viewer)
        check(response)
        assert response.status_code == 404, viewer
