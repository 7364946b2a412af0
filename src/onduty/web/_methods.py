"""`OPTIONS` answers with every method of the path.

Litestar makes a path's OPTIONS answer when the path's first handler is registered, and it
keeps that one when later handlers add methods to the path: `OPTIONS /agents/1` said
`GET, OPTIONS` though PATCH is there too. This middleware answers OPTIONS from the route
as it finally is. (A 405 already carries the full `Allow`: errors.py passes it on.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.routes import HTTPRoute

if TYPE_CHECKING:
    from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send


def route_methods(app: Any, path_template: str) -> list[str]:
    """The methods of the HTTP route whose path is `path_template` (as Litestar writes it)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format == path_template:
            return sorted(route.methods)
    return []


def allow_every_method(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        methods = route_methods(scope["app"], scope["path_template"]) if scope.get("method") == "OPTIONS" else []
        if not methods:  # not OPTIONS (a WebSocket has no method), or a path with no HTTP route
            await app(scope, receive, send)
            return
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", ", ".join(methods).encode())],
        }
        await send(start)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return middleware
