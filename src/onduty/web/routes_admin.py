"""Configuration: the reason catalogue (S1), workspace settings, users and teams."""

from __future__ import annotations

from typing import Annotated

from litestar.params import JSONBody, PathParameter
from msgspec import UnsetType

from onduty.domain import commands as c
from onduty.domain.reasons import CODE_PATTERN
from onduty.service import queries as q
from onduty.service.accounts import UsernameTaken
from onduty.service.auth import new_token, token_hash
from onduty.usernames import UsernameError, normalise
from onduty.web import schemas as s
from onduty.web._body_rules import settings_rules
from onduty.web._routing_helpers import api_delete, api_get, api_patch, api_post, as_struct
from onduty.web.context import Caller, Ctx, require
from onduty.web.errors import ApiError, invalid, invalid_fields

TEAM_ROLES = ("agent", "supervisor")
ReasonCode = Annotated[str, PathParameter(schema_extra={"pattern": CODE_PATTERN})]


async def _saved_reason(ctx: Ctx, command: c.Command, code: str) -> s.Reason:
    outcome = await ctx.node.execute(command, answer=q.reason(code))
    return as_struct(outcome.answer, s.Reason)


@api_get("/reasons", summary="The reason catalogue, retired ones included (S1)", tags=["config"])
async def list_reasons(caller: Caller, ctx: Ctx) -> list[s.Reason]:
    return as_struct(await ctx.node.read(q.reasons), list[s.Reason])


@api_post("/reasons", summary="Add a reason (admin)", tags=["config"])
async def add_reason(caller: Caller, ctx: Ctx, data: JSONBody[s.ReasonRequest]) -> s.Reason:
    require(caller, "admin")
    # The catalogue refuses a code that names a status filter (W2), with the other rules.
    command = c.AddReason(data.code, data.label, data.requires_approval, data.max_minutes)
    return await _saved_reason(ctx, command, data.code)


@api_patch(
    "/reasons/{code:str}", summary="Relabel, mark requires_approval, or set max_minutes (admin)", tags=["config"]
)
async def change_reason(caller: Caller, ctx: Ctx, code: ReasonCode, data: JSONBody[s.ReasonPatch]) -> s.Reason:
    require(caller, "admin")
    limit = data.max_minutes
    command = c.ChangeReason(
        code,
        data.label,
        data.requires_approval,
        max_minutes=None if isinstance(limit, UnsetType) else limit,
        clear_max_minutes=limit is None,
    )
    return await _saved_reason(ctx, command, code)


@api_delete("/reasons/{code:str}", status_code=200, summary="Retire a reason (admin)", tags=["config"])
async def retire_reason(caller: Caller, ctx: Ctx, code: ReasonCode) -> s.Reason:
    require(caller, "admin")
    return await _saved_reason(ctx, c.RetireReason(code), code)


@api_get("/settings", summary="Workspace settings (timeouts in seconds)", tags=["config"])
async def get_settings(caller: Caller, ctx: Ctx) -> s.Settings:
    return as_struct(await ctx.node.read(q.settings), s.Settings)


@api_patch("/settings", summary="Change settings (admin)", tags=["config"])
async def change_settings(caller: Caller, ctx: Ctx, data: JSONBody[s.SettingsPatch]) -> s.Settings:
    require(caller, "admin")
    changes = data.changes()
    if not changes:
        raise invalid("nothing to change: send at least one setting", None)
    problems = settings_rules(changes)  # every setting refused at once
    if problems:
        raise invalid_fields(problems)
    outcome = await ctx.node.execute(c.ChangeSettings(changes), answer=q.settings)
    return as_struct(outcome.answer, s.Settings)


@api_get("/users", summary="Users (admin)", tags=["config"])
async def list_users(caller: Caller, ctx: Ctx) -> list[s.User]:
    require(caller, "admin")
    return [as_struct(u.view(), s.User) for u in await ctx.accounts.all()]


@api_get("/teams", summary="Teams (supervisor, admin)", tags=["config"])
async def list_teams(caller: Caller, ctx: Ctx) -> list[str]:
    require(caller, "supervisor", "admin")
    teams = await ctx.accounts.teams()
    return teams if caller.role == "admin" else [t for t in teams if t == caller.team]


@api_post("/users", summary="Create a user (admin); answers their first API token", tags=["config"])
async def create_user(caller: Caller, ctx: Ctx, data: JSONBody[s.UserRequest]) -> s.CreatedUser:
    require(caller, "admin")
    return await create(ctx, data)


async def create(ctx: Ctx, data: JSONBody[s.UserRequest]) -> s.CreatedUser:
    """One way to make a user, for the API, the CLI and the demo."""
    team = data.team or ("default" if data.role in TEAM_ROLES else None)
    if data.role not in TEAM_ROLES and data.team is not None:
        raise invalid(f"a user with role {data.role} belongs to no team", "team")
    if data.capacity is not None and data.role != "agent":
        raise invalid("only agents have a capacity", "capacity")
    try:
        username = normalise(data.username)
    except UsernameError as error:
        raise invalid(str(error), "username") from None
    password_hash = await ctx.passwords.hash(data.password) if data.password else None
    now = ctx.node.now()
    try:
        user = await ctx.accounts.create(
            username=username,
            name=data.name or username,
            role=data.role,
            team=team,
            password_hash=password_hash,
            now=now,
        )
    except UsernameTaken as error:
        raise ApiError(409, "conflict", str(error), "username") from None
    if user.role == "agent":
        await ctx.node.execute(
            c.RegisterAgent(user.id, team or "default", data.capacity, name=user.name, username=user.username)
        )
    token = new_token()
    await ctx.accounts.add_token(user.id, token_hash(token), now)
    return s.CreatedUser(id=user.id, username=user.username, role=data.role, token=token)


ROUTES = [
    list_reasons,
    add_reason,
    change_reason,
    retire_reason,
    get_settings,
    change_settings,
    list_users,
    list_teams,
    create_user,
]
