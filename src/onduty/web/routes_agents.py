"""The supervisor's side: the widget's rows (W1-W3), approvals (S4), presence (W4), the queue."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import JSONBody

from onduty.domain import commands as c
from onduty.domain.model import Agent, Thread
from onduty.domain.reasons import CODE_PATTERN
from onduty.domain.types import State
from onduty.domain.workspace import Workspace
from onduty.service.views import agent_view, presence_view, status_view
from onduty.timefmt import iso
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
from onduty.web.context import Caller, Ctx, actor_of, require, team_agent_ids, visible_agent
from onduty.web.errors import ApiError, forbidden, invalid, not_found
from onduty.web.schemas import MAX_ID

ACTIVE_FREE = "active_free"
_STATES = {state.value for state in State}
APPROVAL_STATES = ("pending", "approved", "rejected", "cancelled")
QUEUE_LIMIT = 1000
# W2: a state, active_free or a reason code; all of them are written as reason codes are.
StatusFilter = Annotated[
    str | None,
    query(description=f"A state, {ACTIVE_FREE}, or a reason code (W2)", pattern=CODE_PATTERN),
]


def _matches(agent: Agent, status: str) -> bool:
    if status == ACTIVE_FREE:
        return agent.state is State.ACTIVE and not agent.threads
    if status in _STATES:
        return agent.state.value == status
    return agent.state is State.INACTIVE and agent.reason == status


@api_get("/agents", summary="The status widget's rows (W1, W2)", tags=["agents"])
async def list_agents(
    caller: Caller, ctx: Ctx, status: StatusFilter = None, team: Annotated[str | None, query()] = None
) -> list[s.Agent]:
    require(caller, "supervisor", "admin")
    if caller.role == "supervisor":
        if team is not None and team != caller.team:
            raise forbidden("a supervisor sees only their own team", "team")
        team = caller.team

    def rows(ws: Workspace) -> list[dict[str, Any]]:
        if status is not None and status not in _STATES and status != ACTIVE_FREE and ws.reasons.get(status) is None:
            raise invalid(
                f"status must be a state, {ACTIVE_FREE}, or a reason code; {status!r} is none of them", "status"
            )
        return [
            agent_view(ws, a)
            for a in sorted(ws.agents.values(), key=lambda a: (a.name or a.username).lower())
            if (team is None or a.team == team) and (status is None or _matches(a, status))
        ]

    return as_struct(await ctx.service.read(rows), list[s.Agent])


@api_get("/agents/{agent_id:int}", summary="One agent (W3)", tags=["agents"])
async def get_agent(caller: Caller, ctx: Ctx, agent_id: PersonId) -> s.Agent:
    view = await ctx.service.read(lambda ws: agent_view(ws, visible_agent(ws, caller, agent_id, "agent_id")))
    return as_struct(view, s.Agent)


@api_put("/agents/{agent_id:int}/status", summary="Change an agent's status from their card (S2)", tags=["agents"])
async def set_agent_status(caller: Caller, ctx: Ctx, agent_id: PersonId, data: JSONBody[s.StatusRequest]) -> s.Status:
    require(caller, "supervisor", "admin")
    outcome = await ctx.service.execute(
        c.SetStatus(agent_id, State(data.state), data.reason, actor_of(caller)),
        check=lambda ws: visible_agent(ws, caller, agent_id, "agent_id"),
        answer=lambda ws: status_view(ws, ws.agent(agent_id)),
    )
    return as_struct(outcome.answer, s.Status)


@api_patch("/agents/{agent_id:int}", summary="Change an agent's team or capacity (admin)", tags=["agents"])
async def change_agent(caller: Caller, ctx: Ctx, agent_id: PersonId, data: JSONBody[s.AgentPatch]) -> s.Agent:
    require(caller, "admin")
    outcome = await ctx.service.execute(
        c.ChangeAgent(agent_id, team=data.team, capacity=data.capacity, reset_capacity=data.reset_capacity),
        check=lambda ws: visible_agent(ws, caller, agent_id, "agent_id"),
        answer=lambda ws: agent_view(ws, ws.agent(agent_id)),
    )
    if data.team is not None:
        await ctx.users.set_team(agent_id, outcome.answer["team"], ctx.service.now())
        ctx.forget_user(agent_id)
    return as_struct(outcome.answer, s.Agent)


def approval_view(row: Any) -> dict[str, Any]:
    decided_by = {"kind": row.decided_by_kind, "id": row.decided_by_id} if row.decided_by_kind else None
    return {
        "id": row.id,
        "agent_id": row.agent_id,
        "state": row.state,
        "requested": {"state": row.requested_state, "reason": row.requested_reason},
        "created_at": iso(row.created_at),
        "decided_by": decided_by,
        "decided_at": iso(row.decided_at),
        "why": row.why,
    }


@api_get("/approvals", summary="Approval requests (S4, the bell)", tags=["approvals"])
async def list_approvals(
    caller: Caller, ctx: Ctx, state_filter: Annotated[str | None, query("state", enum=list(APPROVAL_STATES))] = None
) -> list[s.ApprovalRequest]:
    require(caller, "supervisor", "admin")
    if state_filter is not None and state_filter not in APPROVAL_STATES:
        raise invalid("state must be pending, approved, rejected or cancelled", "state")
    agent_ids = await ctx.service.read(lambda ws: team_agent_ids(ws, caller))
    rows = await ctx.store.approvals(state=state_filter, agent_ids=agent_ids)
    return as_struct([approval_view(r) for r in rows], list[s.ApprovalRequest])


async def _decide(caller: Caller, ctx: Ctx, request_id: int, approve: bool) -> s.ApprovalRequest:
    require(caller, "supervisor", "admin")
    row = await ctx.store.approval(request_id)
    if row is None:
        raise _no_request(request_id)
    if row.state != "pending":
        await ctx.service.read(lambda ws: _check_decider(ws, caller, row.agent_id, request_id))
        raise ApiError(409, "conflict", f"request {request_id} is {row.state} already", "request_id")
    await ctx.service.execute(
        c.DecideApproval(request_id, approve, actor_of(caller)),
        check=lambda ws: _check_decider(ws, caller, row.agent_id, request_id),
    )
    return as_struct(approval_view(await ctx.store.approval(request_id)), s.ApprovalRequest)


def _check_decider(ws: Workspace, caller: Caller, agent_id: int, request_id: int) -> None:
    agent = ws.agents.get(agent_id)
    if agent is None or (caller.role == "supervisor" and agent.team != caller.team):
        raise _no_request(request_id)  # another team's request reads as no request at all


def _no_request(request_id: int) -> ApiError:
    return not_found(f"no approval request with id {request_id}", "request_id")


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
    wanted = parse_ids(ids, "ids")

    def rows(ws: Workspace) -> list[dict[str, Any]]:
        agents = [ws.agents[i] for i in wanted if i in ws.agents] if wanted is not None else ws.agents.values()
        return [presence_view(ws, a) for a in agents]

    return as_struct(await ctx.service.read(rows), list[s.Presence])


@api_get("/queue", summary="The general queue in routing order (R1, R6)", tags=["threads"])
async def queue(
    caller: Caller, ctx: Ctx, limit: Annotated[int, query(minimum=1, maximum=QUEUE_LIMIT)] = 100
) -> s.Queue:
    require(caller, "supervisor", "admin")
    if not 1 <= limit <= QUEUE_LIMIT:
        raise invalid(f"limit must be from 1 to {QUEUE_LIMIT}", "limit")
    return as_struct(await ctx.service.read(lambda ws: _queue_view(ws, caller, limit, ctx.service.now())), s.Queue)


def _queue_view(ws: Workspace, caller: Caller, limit: int, now: float) -> dict[str, Any]:
    def entry(thread: Thread) -> dict[str, Any]:
        return {
            "id": thread.id,
            "client_id": thread.client_id,
            "priority": thread.priority,
            "created_at": iso(thread.created_at),
            "waiting_seconds": max(0.0, now - thread.created_at),
            "reserved_for": thread.reserved_for,
        }

    items = [entry(thread) for thread in ws.queue.first(limit)]
    # R4: own clients' threads waiting for their agent, after the general queue. They are
    # on their way to that agent, so they belong to the agent's team, like the agent's threads.
    owners = [a for a in ws.reserving if caller.role == "admin" or ws.agents[a].team == caller.team]
    reserved = sorted(
        (ws.threads[t] for a in owners for t in ws.agents[a].reserved), key=lambda t: (t.created_at, t.id)
    )
    items += [entry(thread) for thread in reserved[: max(0, limit - len(items))]]
    oldest = ws.queue.oldest_arrival()
    return {
        "length": len(ws.queue),
        "waiting_for_owner": len(reserved),
        "oldest_wait_seconds": None if oldest is None else max(0.0, now - oldest),
        "routing_halted": bool(len(ws.queue)) and not len(ws.picker),
        "routing": ws.routing(),
        "items": items,
    }


ROUTES = [list_agents, get_agent, set_agent_status, change_agent, list_approvals, approve, reject, presence, queue]
