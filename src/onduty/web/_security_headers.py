"""Security headers on every HTTP answer: pages, API, static files, errors, the API docs.

A plain ASGI wrapper around the whole app, outside Litestar's router, so the 404s and
405s the router answers itself carry them too. The header lists are built once; each
answer only gets them appended to its `http.response.start`, and bodies pass untouched
(streamed answers stay streamed). No Strict-Transport-Security: the service speaks plain
HTTP, and whether a site is HTTPS-only is for the operator's TLS proxy to say.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# Pages run only the package's own files: nothing inline (no <script>, style="" or on*=),
# nothing from another host, never inside a frame. The live stream's ws:// to the same
# host is covered by connect-src 'self'.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
# Litestar's interactive API docs (/schema, /schema/swagger, ...) load their viewers from
# these CDNs and start them with inline code; everything else stays as strict as for pages
# (docs/rules.md, "API docs").
_DOCS_HOSTS = "https://cdn.jsdelivr.net https://unpkg.com https://cdn.redoc.ly"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_DOCS_HOSTS}; "
    f"style-src 'self' 'unsafe-inline' {_DOCS_HOSTS} https://fonts.googleapis.com; "
    f"font-src 'self' data: {_DOCS_HOSTS} https://fonts.gstatic.com; img-src 'self' data: {_DOCS_HOSTS}; "
    "worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
DOCS_PREFIX = "/schema"

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
PAGE_HEADERS = [(b"content-security-policy", PAGE_POLICY.encode()), *_COMMON]
DOCS_HEADERS = [(b"content-security-policy", DOCS_POLICY.encode()), *_COMMON]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    docs = path.startswith(DOCS_PREFIX) and (len(path) == len(DOCS_PREFIX) or path[len(DOCS_PREFIX)] == "/")
    return DOCS_HEADERS if docs else PAGE_HEADERS


class SecurityHeaders:
    """Wraps an ASGI app; HTTP answers leave with the security headers added."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
