"""Agents and their statuses: registration, S2-S6 commands."""

from __future__ import annotations

from onduty.domain import commands as c
from onduty.domain import validate
from onduty.domain._state import Out
from onduty.domain.errors import Conflict, DomainError, Forbidden, NotFound
from onduty.domain.events import AgentChanged, AgentRegistered, ApprovalDecided, ApprovalRequested
from onduty.domain.model import Agent, ApprovalRequest
from onduty.domain.types import Actor, Instant, State
from onduty.domain.workspace import Workspace


def register_agent(ws: Workspace, cmd: c.RegisterAgent, now: Instant, out: Out) -> None:
    if cmd.agent_id in ws.agents:
        raise Conflict(f"agent {cmd.agent_id} already exists", field="agent_id")
    team, capacity = validate.new_agent(cmd)
    agent = Agent(cmd.agent_id, team, capacity, name=cmd.name, username=cmd.username, since=now)
    ws.agents[agent.id] = agent
    out.append(AgentRegistered(now, agent.id, team, capacity))


def change_agent(ws: Workspace, cmd: c.ChangeAgent, now: Instant, out: Out) -> None:
    agent = ws.agent(cmd.agent_id)
    new_team, new_capacity = validate.agent_change(cmd)
    team = agent.team if new_team is None else new_team
    capacity = agent.capacity
    if cmd.reset_capacity:
        capacity = None
    elif new_capacity is not None:
        capacity = new_capacity
    agent.team, agent.capacity = team, capacity
    ws.reindex(agent)  # capacity lowered below the load takes nothing away; it only stops routing
    out.append(AgentChanged(now, agent.id, team, capacity))


def login(ws: Workspace, cmd: c.Login, now: Instant, out: Out) -> None:
    ws.login(ws.agent(cmd.agent_id), now, out)


def logout(ws: Workspace, cmd: c.Logout, now: Instant, out: Out) -> None:
    agent = ws.agent(cmd.agent_id)
    _check_actor(agent, cmd.actor)
    ws.logout(agent, cmd.actor, now, out)


def set_status(ws: Workspace, cmd: c.SetStatus, now: Instant, out: Out) -> None:
    agent = ws.agent(cmd.agent_id)
    state, reason = cmd.state, cmd.reason
    if state is State.KICKED_OUT:
        raise Forbidden("only the system sets kicked_out (S2)", field="state")
    if state is State.FINISHING:
        raise DomainError(
            "ask for inactive with a reason; finishing follows while threads are held (S3)", field="state"
        )
    if state is State.INACTIVE:
        chosen = ws.reasons.usable(reason)
    elif reason is not None:
        raise DomainError("a reason goes only with state inactive", field="reason")
    _check_actor(agent, cmd.actor)
    by_agent = cmd.actor.kind == "agent"
    if by_agent:
        ws.confirm_presence(agent, "status_changed", now, out)
    if _already(agent, state, reason):
        return
    if state is State.INACTIVE and by_agent and chosen.requires_approval:
        _request_approval(ws, agent, reason or "", now, out)
        return
    ws.apply_status(agent, state, reason, cmd.actor, now, out)


def continue_working(ws: Workspace, cmd: c.ContinueWorking, now: Instant, out: Out) -> None:
    agent = ws.agent(cmd.agent_id)
    if agent.prompt_deadline is None:
        raise Conflict('there is no "continue working?" prompt to answer', field="agent_id", code="not_prompted")
    ws.confirm_presence(agent, "continued", now, out)


def connect(ws: Workspace, cmd: c.Connect, now: Instant, out: Out) -> None:
    ws.connect(ws.agent(cmd.agent_id), validate.instance(cmd.instance), now, out)


def disconnect(ws: Workspace, cmd: c.Disconnect, now: Instant, out: Out) -> None:
    ws.disconnect(ws.agent(cmd.agent_id), validate.instance(cmd.instance), now, out)


def drop_instance(ws: Workspace, cmd: c.DropInstance, now: Instant, out: Out) -> None:
    ws.drop_instance(validate.instance(cmd.instance), now, out)


def reset_connections(ws: Workspace, cmd: c.ResetConnections, now: Instant, out: Out) -> None:
    ws.reset_connections(now, out)


def report_input(ws: Workspace, cmd: c.ReportInput, now: Instant, out: Out) -> None:
    ws.report_input(ws.agent(cmd.agent_id), now, out)


def decide_approval(ws: Workspace, cmd: c.DecideApproval, now: Instant, out: Out) -> None:
    request = ws.requests.get(cmd.request_id)
    if request is None:
        raise NotFound(f"no pending approval request with id {cmd.request_id}", field="request_id")
    if cmd.actor.kind not in ("supervisor", "admin"):
        raise Forbidden("only a supervisor or admin decides approval requests (S4)", field="request_id")
    agent = ws.agents[request.agent_id]
    del ws.requests[request.id]
    agent.pending_request = None
    out.append(ApprovalDecided(now, request.id, agent.id, cmd.approve, cmd.actor))
    if cmd.approve and not _already(agent, request.state, request.reason):
        ws.apply_status(agent, request.state, request.reason, cmd.actor, now, out)


def _request_approval(ws: Workspace, agent: Agent, reason: str, now: Instant, out: Out) -> None:
    """S4: at most one pending request per agent; a new one replaces it."""
    if agent.state is State.OFFLINE:
        raise Conflict("log in before asking for a status that needs approval", field="state")
    ws.cancel_request(agent, "replaced", now, out)
    request = ApprovalRequest(ws.next_request_id, agent.id, State.INACTIVE, reason, now)
    ws.next_request_id += 1
    ws.requests[request.id] = request
    agent.pending_request = request.id
    out.append(ApprovalRequested(now, request.id, agent.id, request.state, reason))


def _already(agent: Agent, state: State, reason: str | None) -> bool:
    """In that status already, or finishing towards it."""
    if state is State.INACTIVE and agent.state is State.FINISHING:
        return agent.reason == reason
    return agent.state is state and agent.reason == reason


def _check_actor(agent: Agent, actor: Actor) -> None:
    """S2: agents act on themselves; supervisors and admins not on an offline agent."""
    if actor.kind == "agent":
        if actor.id != agent.id:
            raise Forbidden("an agent changes only their own status", field="agent_id")
    elif actor.kind in ("supervisor", "admin"):
        if agent.state is State.OFFLINE:
            raise Conflict("the agent is offline; their status cannot be changed for them (S2)", field="agent_id")
    else:
        raise Forbidden("the system changes statuses only through its own rules", field="actor")
