"""Security headers on every HTTP answer: pages, API, static files, errors, the API document.

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
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
HEADERS = [(b"content-security-policy", PAGE_POLICY.encode()), *_COMMON]


class SecurityHeaders:
    """Wraps an ASGI app; HTTP answers leave with the security headers added."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        extra = HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
