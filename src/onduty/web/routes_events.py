"""Who may open the event stream: tickets for pages, tokens for programs.

A page cannot set headers on a WebSocket, and a token in the stream's URL ends up
wherever URLs are written down. So a page first asks `POST /events/ticket` (its
token in the Authorization header, as for every call) and opens
`GET /events?ticket=…` with a ticket that works once, within 30 s. Tickets are kept in
the database (storage/tickets.py): behind one address, the instance that issues one need
not be the one that opens the stream. Programs may
send `Authorization: Bearer` on the upgrade, or `?token=` (for the clients that
cannot set a header; the logs redact it, other hops' logs may not).

Either way a stream belongs to a token's session: the token it was opened with, or the
one that asked for its ticket. Signing out ends that session's streams (4401).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, WebSocket
from litestar.openapi.datastructures import ResponseSpec

from onduty.service.accounts import TicketRefused, TooManyTickets, User
from onduty.service.auth import token_hash
from onduty.service.stream_sessions import OpenStream
from onduty.timefmt import iso
from onduty.web import schemas as s
from onduty.web._routing_helpers import api_post
from onduty.web.context import UNKNOWN_TOKEN, AppContext, Caller, Ctx, bearer
from onduty.web.errors import ERROR_RESPONSES, ApiError

NO_CREDENTIALS = "sign in first: connect with ?ticket= from POST /api/v1/events/ticket"
SESSION_ENDED = "the session that asked for this ticket ended (signed out, or the user can no longer sign in)"


@api_post(
    "/events/ticket",
    status_code=200,
    summary="A single-use ticket to open the event stream",
    description=(
        "Valid 30 s, once: open `GET /api/v1/events?ticket=…` with it, so that no token sits "
        "in a URL. 429 when too many of the caller's tickets are waiting to be used. The stream "
        "(a WebSocket) also takes `&after=<last event id>` to resume, and "
        '`&subscribe={"teams": [...] | "all", "queue": bool, "presence": "teams" | "all"}` '
        '(or that object later as the message `{"subscribe": …}`) to receive only what the '
        "page shows; see docs/rules.md, API extensions."
    ),
    tags=["events"],
    responses={
        **ERROR_RESPONSES,
        429: ResponseSpec(data_container=s.ErrorResponse, description="Too many unused tickets; try again shortly"),
    },
)
async def event_ticket(caller: Caller, ctx: Ctx, request: Request[Any, Any, Any]) -> s.EventTicket:
    token = bearer(request)
    assert token is not None  # `caller` was found by it
    try:
        issued = await ctx.accounts.issue_ticket(caller.id, token_hash(token), ctx.node.now())
    except TooManyTickets as error:
        raise ApiError(429, "too_many_requests", str(error)) from None
    return s.EventTicket(ticket=issued.ticket, expires_at=iso(issued.expires_at) or "")


async def stream_caller(socket: WebSocket[Any, Any, Any], ctx: AppContext) -> tuple[User, OpenStream] | str:
    """Who opens this stream, and its hold on the session it belongs to; or why they may not:
    by `?ticket=` (pages), else the Authorization header, else `?token=`. A ticket brought is
    the only credential looked at, so that a bad ticket is refused for what it is.

    The stream is registered under its session before the credential is checked, so that a
    sign-out while the check waits is not missed (the caller finds it `ended`)."""
    query = socket.query_params
    ticket = query.get("ticket")
    if ticket is not None:
        try:
            session = await ctx.accounts.redeem_ticket(ticket, ctx.node.now())
        except TicketRefused as refused:
            return str(refused)
        stream = ctx.open_streams.open(session)
        # As the user and their token are now, not as when the ticket was issued: signed out,
        # deactivated or changed since.
        user = await ctx.accounts.by_token_hash(session)
        if user is None:
            stream.close()
            return SESSION_ENDED
        return user, stream
    token = bearer(socket) or query.get("token")
    if not token:
        return NO_CREDENTIALS
    stream = ctx.open_streams.open(token_hash(token))
    user = await ctx.user_for_token(token)
    if user is None:
        stream.close()
        return f"{UNKNOWN_TOKEN}: sign in again"
    return user, stream


ROUTES = [event_ticket]
