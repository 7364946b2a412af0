"""What the web layer may ask of the workspace, and the checks its commands carry.

Each query is a view: a function of the workspace that answers in the API's shapes
(views.py) and refuses with the domain's errors (not found, forbidden, invalid), to be
run by `Service.read` on committed state, or as a command's `check` or `answer` in the
writer. The routes reach the workspace through these alone, so that the same routes can
run wherever a copy of the workspace is kept, and a route only parses, authorises,
calls and renders.

Who may see what (PRODUCT.md, the Everywhere rule): an agent themselves, a supervisor
their team, an admin everyone; something the caller may not see is not found, exactly
as something that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar

from onduty.domain import commands as c
from onduty.domain import validate
from onduty.domain.errors import DomainError, Forbidden, NotFound
from onduty.domain.model import Agent, Thread
from onduty.domain.statuses import state_and_reason
from onduty.domain.types import State
from onduty.domain.workspace import Workspace
from onduty.service.views import agent_view, presence_view, request_view, status_view
from onduty.timefmt import iso

T = TypeVar("T")
Query = Callable[[Workspace], T]

ACTIVE_FREE = "active_free"
OVERDUE = "overdue"  # S10: agents longer in their break than its reason allows
STATES = frozenset(state.value for state in State)


class Viewer(Protocol):
    """Who asks: a signed-in user."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def team(self) -> str | None: ...


# -- agents ----------------------------------------------------------------------------


def visible_agent(ws: Workspace, viewer: Viewer, agent_id: int, field: str = "id") -> Agent:
    """An agent the viewer may see: themselves, their team (supervisor), anyone (admin)."""
    agent = ws.agents.get(agent_id)
    allowed = agent is not None and (
        viewer.role == "admin"
        or (viewer.role == "supervisor" and agent.team == viewer.team)
        or (viewer.role == "agent" and agent.id == viewer.id)
    )
    if agent is None or not allowed:
        raise NotFound(f"no agent with id {agent_id}", field=field)
    return agent


def may_see_agent(viewer: Viewer, agent_id: int, field: str = "agent_id") -> Query[None]:
    """A command's check: refuses an agent the viewer may not see as not found."""

    def check(ws: Workspace) -> None:
        visible_agent(ws, viewer, agent_id, field)

    return check


def agent(viewer: Viewer, agent_id: int, field: str = "agent_id") -> Query[dict[str, Any]]:
    """The API's agent object (W1, W3)."""
    return lambda ws: agent_view(ws, visible_agent(ws, viewer, agent_id, field))


def own_agent(agent_id: int) -> Query[dict[str, Any]]:
    """The caller's own agent object: a command's answer."""
    return lambda ws: agent_view(ws, ws.agent(agent_id))


def own_status(agent_id: int) -> Query[dict[str, Any]]:
    """The agent's status object: a command's answer."""
    return lambda ws: status_view(ws, ws.agent(agent_id))


def status_or_request(agent_id: int) -> Query[dict[str, Any]]:
    """S4: a reason that needs approval leaves the status as it was and asks: the answer
    to a status change is then the pending request, else the status."""

    def query(ws: Workspace) -> dict[str, Any]:
        agent = ws.agent(agent_id)
        request = ws.requests.get(agent.pending_request) if agent.pending_request is not None else None
        return {"status": status_view(ws, agent), "request": request_view(request) if request is not None else None}

    return query


def client_thread(command: c.ReceiveClientMessage) -> Query[int | None]:
    """The client's open thread, which their message went to; None once it is closed (a
    retried message answered after its thread closed)."""
    client_id = validate.client_message(command)[0]

    def query(ws: Workspace) -> int | None:
        return ws.open_by_client.get(client_id)

    return query


def me(agent_id: int) -> Query[dict[str, Any]]:
    """`/me`'s agent part: {} for someone who is no agent of this workspace (yet)."""

    def query(ws: Workspace) -> dict[str, Any]:
        agent = ws.agents.get(agent_id)
        return {} if agent is None else {"agent": agent_view(ws, agent), "status": status_view(ws, agent)}

    return query


def agents(team: str | None, status: str | None) -> Query[list[dict[str, Any]]]:
    """The widget's rows (W1, W2), by name; `team` already narrowed to what the viewer may see."""

    def query(ws: Workspace) -> list[dict[str, Any]]:
        if status is not None and status not in STATES and status not in _FILTERS and ws.reasons.get(status) is None:
            raise DomainError(
                f"status must be a state, {ACTIVE_FREE}, {OVERDUE}, or a reason code; {status!r} is none of them",
                field="status",
            )
        chosen = [
            a
            for a in ws.agents.values()
            if (team is None or a.team == team) and (status is None or _matches(a, status))
        ]
        return [agent_view(ws, a) for a in sorted(chosen, key=lambda a: (a.name or a.username).lower())]

    return query


_FILTERS = frozenset({ACTIVE_FREE, OVERDUE})


def _matches(agent: Agent, status: str) -> bool:
    if status == ACTIVE_FREE:
        return agent.state is State.ACTIVE and not agent.threads
    if status == OVERDUE:
        return agent.overdue
    if status in STATES:
        return agent.state.value == status
    return agent.state is State.INACTIVE and agent.reason == status


def is_agent(agent_id: int) -> Query[bool]:
    return lambda ws: agent_id in ws.agents


def presence(ids: Collection[int] | None) -> Query[list[dict[str, Any]]]:
    """W4: everyone's presence, or the ones asked for (unknown ids are left out)."""

    def query(ws: Workspace) -> list[dict[str, Any]]:
        chosen = [ws.agents[i] for i in ids if i in ws.agents] if ids is not None else ws.agents.values()
        return [presence_view(ws, a) for a in chosen]

    return query


def team_agent_ids(viewer: Viewer) -> Query[list[int] | None]:
    """Whose threads and requests the viewer may see; None means everyone's (admin)."""

    def query(ws: Workspace) -> list[int] | None:
        if viewer.role == "admin":
            return None
        if viewer.role == "supervisor":
            return [a.id for a in ws.agents.values() if a.team == viewer.team]
        return [viewer.id]

    return query


def thread_readers(viewer: Viewer) -> Query[tuple[list[int] | None, bool]]:
    """Whose threads the viewer may open (None: anyone's) and whether the general queue is
    among them: `GET /threads`' rule, and a chat pointer's (C1)."""

    def query(ws: Workspace) -> tuple[list[int] | None, bool]:
        if viewer.role == "integration":
            return None, True  # the channel that carries every conversation to and from clients
        return team_agent_ids(viewer)(ws), viewer.role in ("supervisor", "admin")

    return query


def may_decide(viewer: Viewer, agent_id: int, request_id: int) -> Query[None]:
    """S4: another team's approval request reads as no request at all."""

    def check(ws: Workspace) -> None:
        agent = ws.agents.get(agent_id)
        if agent is None or (viewer.role == "supervisor" and agent.team != viewer.team):
            raise NotFound(f"no approval request with id {request_id}", field="request_id")

    return check


# -- threads and the queue ----------------------------------------------------------------


def may_act_on_thread(viewer: Viewer, thread_id: int) -> Query[None]:
    """A command's check: supervisors act on their team's threads and the queue; agents on
    what they hold (the engine checks that too). Invisible threads are not found."""

    def check(ws: Workspace) -> None:
        thread = ws.threads.get(thread_id)
        missing = NotFound(f"no open thread with id {thread_id}", field="thread_id")
        if thread is None:
            raise missing
        if viewer.role == "supervisor":
            # Held, or waiting for its own agent (R4): it belongs to that agent's team.
            owner = thread.agent_id if thread.agent_id is not None else thread.reserved_for
            if owner is not None and ws.agents[owner].team != viewer.team:
                raise missing
        if viewer.role == "agent" and thread.agent_id != viewer.id:
            raise missing  # as if there were none

    return check


def no_agent(agent_id: int) -> DomainError:
    """A transfer's target that is no agent, or none the caller may hand work to: one answer."""
    return DomainError(f"no agent with id {agent_id}: threads go only to agents", field="agent_id")


def may_transfer(viewer: Viewer, thread_id: int, agent_id: int) -> Query[None]:
    """A transfer's check: the thread's (may_act_on_thread), then its target's. A supervisor
    hands their team's threads and the queue's only to their own team (W6: they steer their
    team; another team's agents, whom they do not see, are not theirs to load), and another
    team's agent answers as no agent at all. An agent may hand what they hold to anyone (R3)."""
    on_thread = may_act_on_thread(viewer, thread_id)

    def check(ws: Workspace) -> None:
        on_thread(ws)
        target = ws.agents.get(agent_id)
        if viewer.role == "supervisor" and target is not None and target.team != viewer.team:
            raise no_agent(agent_id)

    return check


def queue(viewer: Viewer, limit: int, now: float) -> Query[dict[str, Any]]:
    """The general queue in routing order (R1, R6), then the threads waiting for their own
    agent (R4) that the viewer's team may see; routing's state (W5)."""

    def entry(thread: Thread) -> dict[str, Any]:
        return {
            "id": thread.id,
            "client_id": thread.client_id,
            "priority": thread.priority,
            "created_at": iso(thread.created_at),
            "waiting_seconds": max(0.0, now - thread.created_at),
            "reserved_for": thread.reserved_for,
        }

    def query(ws: Workspace) -> dict[str, Any]:
        items = [entry(thread) for thread in ws.queue.first(limit)]
        # R4: own clients' threads on their way to their agent belong to the agent's team.
        owners = [a for a in ws.reserving if viewer.role == "admin" or ws.agents[a].team == viewer.team]
        reserved = sorted(
            (ws.threads[t] for a in owners for t in ws.agents[a].reserved), key=lambda t: (t.created_at, t.id)
        )
        items += [entry(thread) for thread in reserved[: max(0, limit - len(items))]]
        return _queue_figures(ws, now) | {
            "waiting_for_owner": len(reserved),
            "routing_halted": bool(len(ws.queue)) and not len(ws.picker),
            "items": items,
        }

    return query


def _queue_figures(ws: Workspace, now: float) -> dict[str, Any]:
    """The general queue at a glance (W5), as `/queue` answers it."""
    oldest = ws.queue.oldest_arrival()
    return {
        "length": len(ws.queue),
        "oldest_wait_seconds": None if oldest is None else max(0.0, now - oldest),
        "routing": ws.routing(),
    }


# -- the floor at a glance (W5) ---------------------------------------------------------------


def floor(team: str | None, now: float) -> Query[dict[str, Any]]:
    """W5's live part: how many agents of `team` (None: everyone) are in each status, each
    count what `agents(team, key)` lists (`inactive:<code>` is the filter `<code>`), with a
    count for every reason that can be chosen, zero or not; and the general queue."""

    def query(ws: Workspace) -> dict[str, Any]:
        counts = dict.fromkeys(_STATE_KEYS, 0)
        for reason in ws.reasons.all():
            if not reason.retired:
                counts[f"inactive:{reason.code}"] = 0
        free = overdue = 0
        for agent in ws.agents.values():  # one pass, the same tests as _matches
            if team is not None and agent.team != team:
                continue
            state = agent.state
            counts[state._value_] += 1
            if state is State.ACTIVE:
                free += not agent.threads
            elif state is State.INACTIVE:
                key = f"inactive:{agent.reason}"
                counts[key] = counts.get(key, 0) + 1  # a retired reason someone is still in
            overdue += agent.overdue
        counts[ACTIVE_FREE], counts[OVERDUE] = free, overdue
        return {"counts": counts, "queue": _queue_figures(ws, now)}

    return query


_STATE_KEYS = tuple(state.value for state in State)


# -- configuration -------------------------------------------------------------------------


def reason(code: str) -> Query[dict[str, Any]]:
    def query(ws: Workspace) -> dict[str, Any]:
        r = ws.reasons.existing(code)
        return {
            "code": r.code,
            "label": r.label,
            "requires_approval": r.requires_approval,
            "retired": r.retired,
            "built_in": r.built_in,
            "max_minutes": r.max_minutes,
        }

    return query


def reasons(ws: Workspace) -> list[dict[str, Any]]:
    """The catalogue, retired reasons included (S1)."""
    return [reason(r.code)(ws) for r in ws.reasons.all()]


def settings(ws: Workspace) -> dict[str, Any]:
    return ws.settings.as_dict()


def time_zone(ws: Workspace) -> str:
    return ws.settings.time_zone


def status_log_filter(viewer: Viewer, status: str | None, agent_id: int | None) -> Query[None]:
    """P1's filters: a status that exists, and (for a supervisor) an agent of their team."""

    def check(ws: Workspace) -> None:
        if status is not None:
            _, reason = state_and_reason(status)
            if reason is not None and ws.reasons.get(reason) is None:
                raise DomainError(
                    f"status must be a state, a reason code or inactive:<reason code>; {status!r} is none of them",
                    field="status",
                )
        if agent_id is not None and viewer.role == "supervisor":
            agent = ws.agents.get(agent_id)
            if agent is None or agent.team != viewer.team:
                raise Forbidden("that agent is not in your team", field="agent_id")

    return check
