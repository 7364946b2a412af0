"""How engine state reads to people and programs: the API's status and agent objects.

One place, so that a REST response and a live event show an agent the same way.
"""

from __future__ import annotations

from typing import Any

from onduty.domain.model import Agent, ApprovalRequest
from onduty.domain.statuses import presence_of, status_label
from onduty.domain.types import Actor
from onduty.domain.workspace import Workspace
from onduty.timefmt import iso


def actor_view(actor: Actor) -> dict[str, Any]:
    view: dict[str, Any] = {"kind": actor.kind, "id": actor.id}
    if actor.why is not None:
        view["why"] = actor.why
    return view


def status_view(ws: Workspace, agent: Agent) -> dict[str, Any]:
    return {
        "state": agent.state.value,
        "reason": agent.reason,
        "label": status_label(agent.state, ws.reasons.label(agent.reason), len(agent.threads)),
        "since": iso(agent.since),
        "set_by": actor_view(agent.set_by),
    }


def request_view(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "agent_id": request.agent_id,
        "state": "pending",
        "requested": {"state": request.state.value, "reason": request.reason},
        "created_at": iso(request.created_at),
        "decided_by": None,
        "decided_at": None,
    }


def agent_view(ws: Workspace, agent: Agent) -> dict[str, Any]:
    """The widget's row (W1, W3): the API's agent object."""
    pending = ws.requests.get(agent.pending_request) if agent.pending_request is not None else None
    return {
        "id": agent.id,
        "username": agent.username,
        "name": agent.name or agent.username,
        "team": agent.team,
        "capacity": ws.capacity_of(agent),
        "status": status_view(ws, agent),
        "presence": presence_of(agent.state).value,
        "threads": len(agent.threads),
        "unanswered_threads": len(agent.unanswered),  # W6: said before a break is approved
        "pinned_messages": agent.pinned,
        "connected": agent.connected,  # S8: an event stream of theirs is open
        "pending_request": request_view(pending) if pending is not None else None,
        "prompt_deadline": iso(agent.prompt_deadline),
        # S8: no stream of theirs is open, and this is when the system sets on_disconnect.
        "disconnect_deadline": iso(agent.grace_deadline),
        # S10: longer in their break than its reason's max_minutes; and when they are (or will be).
        "overdue": agent.overdue,
        "overdue_at": iso(agent.overdue_at),
    }


def presence_view(ws: Workspace, agent: Agent) -> dict[str, Any]:
    """W4. Beyond API.md's three fields, the name (a colleague picker shows people, not ids)
    and the load (threads held of capacity: whom a transfer, R3, would burden)."""
    return {
        "agent_id": agent.id,
        "presence": presence_of(agent.state).value,
        "status": status_view(ws, agent),
        "name": agent.name or agent.username,
        "username": agent.username,
        "team": agent.team,
        "threads": len(agent.threads),
        "capacity": ws.capacity_of(agent),
    }
