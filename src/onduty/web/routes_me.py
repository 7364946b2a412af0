"""Signing in, and an agent's own status: S2-S6 from the agent's side."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from onduty.domain import commands as c
from onduty.domain.events import ApprovalRequested
from onduty.domain.types import Actor, State
from onduty.service import queries as q
from onduty.service.accounts import User
from onduty.service.auth import new_token, token_hash
from onduty.service.sign_in_limits import TooManyFailures
from onduty.usernames import UsernameError, normalise
from onduty.web import schemas as s
from onduty.web._routing_helpers import api_get, api_post, api_put, as_struct
from onduty.web.context import Caller, Ctx, bearer, require
from onduty.web.errors import ERROR_RESPONSES, ApiError, invalid, unauthorized


@api_post(
    "/auth/token",
    status_code=200,
    summary="Sign in",
    description=(
        "429 after too many failed sign-ins for the username or from the client's address (by default 5 and 20 "
        "in 15 minutes); the Retry-After header says in how many seconds to try again."
    ),
    tags=["auth"],
    responses={
        **ERROR_RESPONSES,
        429: ResponseSpec(data_container=s.ErrorResponse, description="Too many failed sign-ins; see Retry-After"),
    },
    security=None,  # the one API call made without a token: it answers one
)
async def sign_in(data: JSONBody[s.TokenRequest], request: Request[Any, Any, Any], ctx: Ctx) -> s.TokenResponse:
    outcomes = ctx.node.metrics.sign_ins
    try:
        username = normalise(data.username)  # one spelling: " A1 " signs in as a1, and counts as a1's failure
    except UsernameError as error:
        raise invalid(str(error), "username") from None
    try:
        attempt = ctx.failed_sign_ins.start(username, client_address(request))
    except TooManyFailures as refused:
        outcomes.labels("limited").inc()
        wait = refused.retry_after
        later = f"{-(-wait // 60)} minutes" if wait > 90 else f"{wait} seconds"
        message = f"{refused}: try again in {later}"
        raise ApiError(429, "too_many_attempts", message, "username", {"Retry-After": str(wait)}) from None
    found = await ctx.accounts.by_username(username)
    user, password_hash = found if found is not None and found[0].active else (None, None)
    # Without a usable hash (no such user, deactivated, no password) the check runs against a
    # stand-in: every refusal takes the time of a real check.
    if not await ctx.passwords.verify(password_hash, data.password) or user is None:
        outcomes.labels("refused").inc()
        raise unauthorized("wrong username or password")
    ctx.failed_sign_ins.succeeded(attempt)
    outcomes.labels("signed_in").inc()
    token = new_token()
    await ctx.accounts.add_token(user.id, token_hash(token), ctx.node.now())
    return s.TokenResponse(token=token, user=as_struct(user.view(), s.User))


def client_address(request: Request[Any, Any, Any]) -> str:
    """The address of the connection, as the server gives it. X-Forwarded-For is not read here:
    a client can write anything there, so trusting it would let a guesser name a new address at
    every try. Behind a proxy, `onduty serve --forwarded-allow-ips` names the proxies whose header
    the server (uvicorn) believes, and it then puts the client's address in the connection's place."""
    return request.client.host if request.client is not None else "unknown"


@api_post("/auth/logout", status_code=204, summary="Sign out: revoke this token", tags=["auth"])
async def sign_out(request: Request[Any, Any, Any], caller: Caller, ctx: Ctx) -> None:
    # Like every call but sign-in, this one needs a valid token (`caller`): 401 without one.
    token = bearer(request)
    if token is not None:
        await ctx.end_session(token)  # and the event streams it opened close (4401)


async def me_view(ctx: Ctx, user: User) -> s.Me:
    view: dict[str, Any] = user.view()
    if user.role == "agent":
        view |= await ctx.node.read(q.me(user.id))
    return as_struct(view, s.Me)


async def own_agent(ctx: Ctx, caller: Caller, command: c.Command) -> s.Agent:
    """The command's outcome for the caller, as the agent object."""
    outcome = await ctx.node.execute(command, answer=q.own_agent(caller.id))
    return as_struct(outcome.answer, s.Agent)


@api_get("/me", summary="The caller, with their status", tags=["me"])
async def get_me(caller: Caller, ctx: Ctx) -> s.Me:
    return await me_view(ctx, caller)


@api_post("/me/login", status_code=200, summary="Presence login (S5)", tags=["me"])
async def login(caller: Caller, ctx: Ctx) -> s.Agent:
    require(caller, "agent")
    return await own_agent(ctx, caller, c.Login(caller.id))


@api_post("/me/logout", status_code=200, summary="Presence logout (S5)", tags=["me"])
async def logout(caller: Caller, ctx: Ctx) -> s.Agent:
    require(caller, "agent")
    return await own_agent(ctx, caller, c.Logout(caller.id, Actor.agent(caller.id)))


@api_put(
    "/me/status",
    summary="Change own status (S2-S4)",
    description="Answers the resulting status, or 202 with the approval request when the reason needs approval.",
    tags=["me"],
    responses={**ERROR_RESPONSES, 202: ResponseSpec(data_container=s.ApprovalRequest, description="Approval asked")},
)
async def set_own_status(caller: Caller, ctx: Ctx, data: JSONBody[s.StatusRequest]) -> Response[s.Status]:
    require(caller, "agent")
    outcome = await ctx.node.execute(
        c.SetStatus(caller.id, State(data.state), data.reason, Actor.agent(caller.id)),
        answer=q.status_or_request(caller.id),
    )
    request = outcome.answer["request"]
    # Sent again under its key (applied before: no event now), it asked for this request.
    asked = outcome.repeated and request is not None and request["requested"] == _requested(data)
    if request is not None and (asked or any(isinstance(e, ApprovalRequested) for e in outcome.events)):
        return Response(as_struct(request, s.ApprovalRequest), status_code=202)  # type: ignore[arg-type]
    return Response(as_struct(outcome.answer["status"], s.Status))


def _requested(data: s.StatusRequest) -> dict[str, Any]:
    return {"state": data.state, "reason": data.reason}


@api_post("/me/continue", status_code=200, summary='Answer "continue working?" (S6)', tags=["me"])
async def continue_working(caller: Caller, ctx: Ctx) -> s.Agent:
    require(caller, "agent")
    return await own_agent(ctx, caller, c.ContinueWorking(caller.id))


ROUTES = [sign_in, sign_out, get_me, login, logout, set_own_status, continue_working]
