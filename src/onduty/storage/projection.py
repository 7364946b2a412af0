"""From the engine's events to rows: what one batch of commands writes.

`Rows.add` runs right after each command, while the engine's state is exactly
that command's outcome, so that an event's audience (who held the thread,
which team) is the one of its moment. `Rows` then goes to the database in one
transaction (group commit).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

from onduty.domain import events as ev
from onduty.domain.model import Agent, Thread
from onduty.domain.statuses import presence_of
from onduty.domain.types import Actor, State, ThreadState
from onduty.domain.workspace import Workspace
from onduty.service.timefmt import iso
from onduty.service.views import agent_view, status_view
from onduty.storage import id_lists
from onduty.storage.activity import ActivityTracker, activity_rows

# Events every signed-in user may see: presence is public (W4), and so is the catalogue.
_PUBLIC = (ev.StatusChanged, ev.AgentRegistered, ev.AgentChanged, ev.ReasonSaved, ev.SettingsChanged)
_INSTANT_FIELDS = frozenset({"at", "deadline"})


@dataclass(slots=True)
class JournalEntry:
    """One event as the live stream sends it, before it has its id."""

    name: str
    at: float
    data: dict[str, Any]
    scope: dict[str, Any]


@dataclass(slots=True)
class Rows:
    journal: list[JournalEntry] = field(default_factory=list)
    status_log: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    pins: dict[int, bool] = field(default_factory=dict)
    requests_new: list[dict[str, Any]] = field(default_factory=list)
    requests_done: dict[int, dict[str, Any]] = field(default_factory=dict)
    reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    owners: dict[str, tuple[int | None, float]] = field(default_factory=dict)  # None: no owner any more
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)  # whole rows
    thread_closes: dict[int, dict[str, Any]] = field(default_factory=dict)  # threads written earlier
    agent_ids: set[int] = field(default_factory=set)
    meta: dict[str, Any] = field(default_factory=dict)
    activity: list[dict[str, Any]] = field(default_factory=list)
    tracker: ActivityTracker = field(default_factory=ActivityTracker)

    def __bool__(self) -> bool:
        return bool(self.journal)

    def add(self, events: list[ev.Event], ws: Workspace) -> None:
        touched_agents: dict[int, bool] = {}  # agent -> touched by anything but a status change
        status_entries: dict[int, JournalEntry] = {}  # each agent's last status change
        moves_queue = False
        for event in events:
            entry = self._project(event, ws, touched_agents)
            if type(event) is ev.StatusChanged:
                status_entries[event.agent_id] = entry
            elif not moves_queue:
                moves_queue = _moves_queue(event)
        self.activity.extend(activity_rows(events, ws, self.tracker))
        self._queue_changed(ws, moves_queue)
        # The widget's row (W1) for each agent a command touched. When all that happened to an
        # agent was a change of status, the row's news rides on that `agent.status_changed`
        # (its `status` and `presence` after the command): one event, one frame to every
        # dashboard, where a separate `agent.updated` doubled the fan-out of the most
        # frequent change. Anything else (threads, requests, prompts) sends the whole row.
        for agent_id, entry in status_entries.items():
            agent = ws.agents.get(agent_id)
            if agent is not None and not touched_agents[agent_id]:
                entry.data["status"] = status_view(ws, agent)
                entry.data["presence"] = presence_of(agent.state).value
                entry.data["disconnect_deadline"] = iso(agent.grace_deadline)  # S8: may end with it
        for agent_id, other in touched_agents.items():
            agent = ws.agents.get(agent_id)
            if agent is not None and other:
                self.journal.append(
                    JournalEntry(
                        "agent.updated",
                        ws.clock,
                        {"agent": agent_view(ws, agent)},
                        {"agents": [agent.id], "teams": [agent.team], "public": False},
                    )
                )
        self.agent_ids.update(touched_agents)

    def _queue_changed(self, ws: Workspace, moves_queue: bool) -> None:
        """`queue.changed` when the queue moved, or when routing alone changed (W5: an agent
        went active, freed up or became full), so that "halted" and "at capacity" are told
        live. One `routing()` per command: O(1)."""
        routing = ws.routing()
        if not moves_queue and routing == self.tracker.routing:
            return
        self.tracker.routing = routing
        # Every supervisor watches the shared queue, but not other teams' agents: the
        # queue's counts go to all of them, who took a thread stays with its team.
        waiting_for_owner = sum(len(ws.agents[a].reserved) for a in ws.reserving)
        self.journal.append(
            JournalEntry(
                "queue.changed",
                ws.clock,
                {"length": len(ws.queue), "waiting_for_owner": waiting_for_owner, "routing": routing},
                {"agents": [], "teams": [], "public": False, "queue": True},
            )
        )

    def _project(self, event: ev.Event, ws: Workspace, touched: dict[int, bool]) -> JournalEntry:
        shape = _shape(type(event))
        data = event_data(event, shape)
        agents = [a for a in map(event.__getattribute__, shape.agent_fields) if a is not None]
        thread_id: int | None = event.thread_id if shape.has_thread else None  # type: ignore[attr-defined]
        audience: list[int] = []
        if thread_id is not None:
            self._thread(thread_id, event, ws)
            thread = ws.threads.get(thread_id)
            if thread is not None and thread.agent_id is not None:
                agents.append(thread.agent_id)
            elif thread is not None and thread.reserved_for is not None:
                audience.append(thread.reserved_for)  # R4: waiting for its owner, their team's business
        other = type(event) is not ev.StatusChanged
        for agent_id in agents:
            touched[agent_id] = touched.get(agent_id, False) or other
        # None, or just one: nothing to merge or sort.
        audience = sorted({*agents, *audience}) if audience or len(agents) > 1 else agents
        known = ws.agents
        teams = sorted({known[a].team for a in audience if a in known})
        scope: dict[str, Any] = {"agents": audience, "teams": teams, "public": shape.public}
        if thread_id is not None:
            scope["thread"] = thread_id
            scope["queue"] = not audience  # a queued thread: every supervisor watches the queue
        entry = JournalEntry(event.name, event.at, data, scope)
        self.journal.append(entry)

        if type(event) is ev.StatusChanged:
            actor = event.actor
            self.status_log.append(
                {
                    "agent_id": event.agent_id,
                    "team": known[event.agent_id].team,
                    "at": event.at,
                    "from_state": data["from_state"],
                    "from_reason": event.from_reason,
                    "to_state": data["to_state"],
                    "to_reason": event.to_reason,
                    "actor_kind": actor.kind,
                    "actor_id": actor.id,
                    "actor_why": actor.why,
                }
            )
        elif isinstance(event, ev.MessageAdded):
            self.messages.append(
                {
                    "id": event.message_id,
                    "thread_id": event.thread_id,
                    "author": event.author,
                    "agent_id": event.agent_id,
                    "text": event.text,
                    "at": event.at,
                    "pinned": False,
                }
            )
        elif isinstance(event, ev.MessagePinned):
            self.pins[event.message_id] = event.pinned
        elif isinstance(event, ev.ApprovalRequested):
            self.requests_new.append(
                {
                    "id": event.request_id,
                    "agent_id": event.agent_id,
                    "state": "pending",
                    "requested_state": event.state.value,
                    "requested_reason": event.reason,
                    "created_at": event.at,
                }
            )
        elif isinstance(event, ev.ApprovalDecided):
            self.requests_done[event.request_id] = {
                "state": "approved" if event.approved else "rejected",
                "decided_at": event.at,
                "decided_by_kind": event.actor.kind,
                "decided_by_id": event.actor.id,
            }
        elif isinstance(event, ev.ApprovalCancelled):
            self.requests_done[event.request_id] = {"state": "cancelled", "decided_at": event.at, "why": event.why}
        elif isinstance(event, ev.ReasonSaved):
            self.reasons[event.code] = reason_row(ws, event.code)
        elif isinstance(event, ev.SettingsChanged):
            self.settings.update(event.changes)
        elif isinstance(event, ev.ThreadClosed):
            self.owners[event.client_id] = (event.client_owner, event.at)
        return entry

    def _thread(self, thread_id: int, event: ev.Event, ws: Workspace) -> None:
        thread = ws.threads.get(thread_id)
        if thread is not None:
            self.threads[thread_id] = thread_row(thread)
        elif isinstance(event, ev.ThreadClosed):
            closing = {"state": ThreadState.CLOSED.value, "closed_at": event.at, "agent_id": event.agent_id}
            closing |= {"assigned_at": None, "reserved_for": None, "reserve_deadline": None, "reclaim_pending": False}
            closing["pinned_ids"] = ""  # the list is an open thread's (id_lists.py)
            if thread_id in self.threads:
                self.threads[thread_id].update(closing)
            else:
                self.thread_closes[thread_id] = closing

    def agent_rows(self, ws: Workspace) -> list[dict[str, Any]]:
        return [agent_row(ws.agents[a]) for a in sorted(self.agent_ids) if a in ws.agents]


def _moves_queue(event: ev.Event) -> bool:
    """Did this event put a thread into the queue or take one out of it (R4 waits included)?"""
    if isinstance(event, ev.ThreadCreated | ev.ThreadRequeued | ev.ThreadAssigned):
        return True
    if isinstance(event, ev.ThreadTransferred):
        return event.from_agent_id is None
    return isinstance(event, ev.ThreadClosed) and event.agent_id is None


@dataclass(frozen=True, slots=True)
class _Shape:
    """What projecting an event class needs to know of it, found once per class."""

    fields: tuple[tuple[str, bool], ...]  # its fields but `at`, each with whether it is an instant
    agent_fields: tuple[str, ...]  # those of _AGENT_FIELDS it has
    has_thread: bool
    public: bool


_AGENT_FIELDS = ("agent_id", "from_agent_id", "to_agent_id", "reserved_for")
_SHAPES: dict[type[ev.Event], _Shape] = {}


def _shape(kind: type[ev.Event]) -> _Shape:
    shape = _SHAPES.get(kind)
    if shape is None:
        names = [f.name for f in dataclasses.fields(kind)]
        shape = _Shape(
            fields=tuple((name, name in _INSTANT_FIELDS) for name in names if name != "at"),
            agent_fields=tuple(name for name in _AGENT_FIELDS if name in names),
            has_thread="thread_id" in names,
            public=issubclass(kind, _PUBLIC),
        )
        _SHAPES[kind] = shape
    return shape


def event_data(event: ev.Event, shape: _Shape | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, instant in (shape or _shape(type(event))).fields:
        value = getattr(event, name)
        kind = type(value)
        if instant:
            data[name] = iso(value)
        elif kind in _PLAIN_TYPES:
            data[name] = value
        elif kind in _ENUM_TYPES:
            data[name] = value._value_  # what .value answers, without its descriptor (hot: every event)
        else:
            data[name] = _plain(value)
    return data


_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
_ENUM_TYPES = frozenset({State, ThreadState})


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if type(value) is Actor:
        return {"kind": value.kind, "id": value.id, "why": value.why}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


def _finite(value: float | None) -> float | None:
    return None if value is None or value == float("-inf") else value


def agent_row(agent: Agent) -> dict[str, Any]:
    before = agent.before_logout
    return {
        "id": agent.id,
        "team": agent.team,
        "capacity": agent.capacity,
        "name": agent.name,
        "state": agent.state.value,
        "reason": agent.reason,
        "since": agent.since,
        "set_by_kind": agent.set_by.kind,
        "set_by_id": agent.set_by.id,
        "set_by_why": agent.set_by.why,
        "before_logout_state": before[0].value if before else None,
        "before_logout_reason": before[1] if before else None,
        "ever_logged_in": agent.ever_logged_in,
        "last_assigned_at": _finite(agent.last_assigned_at),
        "idle_since": _finite(agent.idle_since),
        "working_since": agent.working_since,
        "prompt_deadline": agent.prompt_deadline,
        "connected": agent.connected,
        "stream_seen": agent.stream_seen,
        "disconnected_at": agent.disconnected_at,
        "away_from_state": agent.away_from[0].value if agent.away_from else None,
        "away_from_reason": agent.away_from[1] if agent.away_from else None,
        "away_at": agent.away_at,
    }


def thread_row(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "client_id": thread.client_id,
        "created_at": thread.created_at,
        "priority": thread.priority,
        "state": thread.state.value,
        "agent_id": thread.agent_id,
        "assigned_at": thread.assigned_at,
        "reserved_for": thread.reserved_for,
        "reserve_deadline": thread.reserve_deadline,
        "reclaim_pending": thread.reclaim_pending,
        "answered_once": thread.answered_once,
        "closed_at": None,
        "pinned_ids": id_lists.encode(thread.pinned),
    }


def reason_row(ws: Workspace, code: str) -> dict[str, Any]:
    reason = ws.reasons.existing(code)
    return {
        "code": reason.code,
        "label": reason.label,
        "requires_approval": reason.requires_approval,
        "retired": reason.retired,
        "built_in": reason.built_in,
    }
