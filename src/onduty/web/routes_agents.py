"""The supervisor's side: the widget's rows (W1-W3), approvals (S4), presence (W4), the queue."""

from __future__ import annotations

from typing import Annotated

from litestar.params import JSONBody

from onduty.domain import commands as c
from onduty.domain.reasons import CODE_PATTERN
from onduty.domain.types import State
from onduty.domain.workspace import Workspace
from onduty.service import queries as q
from onduty.service.queries import ACTIVE_FREE
from onduty.web import schemas as s
from onduty.web._routing_helpers import (
    IDS_PATTERN,
    PersonId,
    api_get,
    api_patch,
    api_post,
    api_put,
    as_struct,
    parse_ids,
    query,
)
from onduty.web.context import Caller, Ctx, actor_of, require
from onduty.web.errors import ApiError, forbidden, invalid, not_found
from onduty.web.schemas import MAX_ID

APPROVAL_STATES = ("pending", "approved", "rejected", "cancelled")
QUEUE_LIMIT = 1000
# W2: a state, active_free or a reason code; all of them are written as reason codes are.
StatusFilter = Annotated[
    str | None,
    query(description=f"A state, {ACTIVE_FREE}, or a reason code (W2)", pattern=CODE_PATTERN),
]


@api_get("/agents", summary="The status widget's rows (W1, W2)", tags=["agents"])
async def list_agents(
    caller: Caller, ctx: Ctx, status: StatusFilter = None, team: Annotated[str | None, query()] = None
) -> list[s.Agent]:
    require(caller, "supervisor", "admin")
    if caller.role == "supervisor":
        if team is not None and team != caller.team:
            raise forbidden("a supervisor sees only their own team", "team")
        team = caller.team
    return as_struct(await ctx.node.read(q.agents(team, status)), list[s.Agent])


@api_get("/agents/{agent_id:int}", summary="One agent (W3)", tags=["agents"])
async def get_agent(caller: Caller, ctx: Ctx, agent_id: PersonId) -> s.Agent:
    return as_struct(await ctx.node.read(q.agent(caller, agent_id)), s.Agent)


@api_put("/agents/{agent_id:int}/status", summary="Change an agent's status from their card (S2)", tags=["agents"])
async def set_agent_status(caller: Caller, ctx: Ctx, agent_id: PersonId, data: JSONBody[s.StatusRequest]) -> s.Status:
    require(caller, "supervisor", "admin")
    outcome = await ctx.node.execute(
        c.SetStatus(agent_id, State(data.state), data.reason, actor_of(caller)),
        check=q.may_see_agent(caller, agent_id),
        answer=q.own_status(agent_id),
    )
    return as_struct(outcome.answer, s.Status)


@api_patch("/agents/{agent_id:int}", summary="Change an agent's team or capacity (admin)", tags=["agents"])
async def change_agent(caller: Caller, ctx: Ctx, agent_id: PersonId, data: JSONBody[s.AgentPatch]) -> s.Agent:
    require(caller, "admin")
    outcome = await ctx.node.execute(
        c.ChangeAgent(agent_id, team=data.team, capacity=data.capacity, reset_capacity=data.reset_capacity),
        check=q.may_see_agent(caller, agent_id),
        answer=q.own_agent(agent_id),
    )
    if data.team is not None:
        await ctx.set_team(agent_id, outcome.answer["team"])
    return as_struct(outcome.answer, s.Agent)


@api_get("/approvals", summary="Approval requests (S4, the bell)", tags=["approvals"])
async def list_approvals(
    caller: Caller, ctx: Ctx, state_filter: Annotated[str | None, query("state", enum=list(APPROVAL_STATES))] = None
) -> list[s.ApprovalRequest]:
    require(caller, "supervisor", "admin")
    if state_filter is not None and state_filter not in APPROVAL_STATES:
        raise invalid("state must be pending, approved, rejected or cancelled", "state")
    agent_ids = await ctx.node.read(q.team_agent_ids(caller))
    return as_struct(await ctx.reads.approvals(state=state_filter, agent_ids=agent_ids), list[s.ApprovalRequest])


async def _decide(caller: Caller, ctx: Ctx, request_id: int, approve: bool) -> s.ApprovalRequest:
    require(caller, "supervisor", "admin")
    request = await ctx.reads.approval(request_id)
    if request is None:
        raise not_found(f"no approval request with id {request_id}", "request_id")
    may_decide = q.may_decide(caller, request["agent_id"], request_id)  # another team's reads as none
    decided = request["state"] if request["state"] != "pending" else "decided"

    def check(ws: Workspace) -> None:
        # In the command's check, not before it: a decision sent again under its key is
        # answered as applied (the key is looked at first), not refused as decided already.
        may_decide(ws)
        if request_id not in ws.requests:
            raise ApiError(409, "conflict", f"request {request_id} is {decided} already", "request_id")

    await ctx.node.execute(c.DecideApproval(request_id, approve, actor_of(caller)), check=check)
    return as_struct(await ctx.reads.approval(request_id), s.ApprovalRequest)


@api_post("/approvals/{request_id:int}/approve", status_code=200, summary="Approve (S4)", tags=["approvals"])
async def approve(caller: Caller, ctx: Ctx, request_id: PersonId) -> s.ApprovalRequest:
    return await _decide(caller, ctx, request_id, True)


@api_post("/approvals/{request_id:int}/reject", status_code=200, summary="Reject (S4)", tags=["approvals"])
async def reject(caller: Caller, ctx: Ctx, request_id: PersonId) -> s.ApprovalRequest:
    return await _decide(caller, ctx, request_id, False)


@api_get("/presence", summary="Online, away or offline, for pickers and other programs (W4)", tags=["agents"])
async def presence(
    caller: Caller,
    ctx: Ctx,
    ids: Annotated[
        str | None,
        query(description=f"Comma-separated agent ids from 1 to {MAX_ID}, like 3,7,12", pattern=IDS_PATTERN),
    ] = None,
) -> list[s.Presence]:
    return as_struct(await ctx.node.read(q.presence(parse_ids(ids, "ids"))), list[s.Presence])


@api_get("/queue", summary="The general queue in routing order (R1, R6)", tags=["threads"])
async def queue(
    caller: Caller, ctx: Ctx, limit: Annotated[int, query(minimum=1, maximum=QUEUE_LIMIT)] = 100
) -> s.Queue:
    require(caller, "supervisor", "admin")
    if not 1 <= limit <= QUEUE_LIMIT:
        raise invalid(f"limit must be from 1 to {QUEUE_LIMIT}", "limit")
    return as_struct(await ctx.node.read(q.queue(caller, limit, ctx.node.now())), s.Queue)


ROUTES = [list_agents, get_agent, set_agent_status, change_agent, list_approvals, approve, reject, presence, queue]
