"""From the engine's events to journal entries: what the live stream says, and to whom.

`Journal.add` runs right after each command, while the engine's state is
exactly that command's outcome, so that an event's audience (who held the
thread, which team) is the one of its moment. The entries go to the database
with the batch's rows (storage/projection.py) and, once committed, to every
subscriber allowed to see them (service/stream_filter.py `may_see` reads `scope`).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from onduty.domain import chat
from onduty.domain import events as ev
from onduty.domain.statuses import presence_of
from onduty.domain.types import Actor, State, ThreadState
from onduty.domain.workspace import Workspace
from onduty.journal import JournalEntry
from onduty.service.views import agent_view, status_view
from onduty.timefmt import iso

# Events every signed-in user may see: presence is public (W4), and so is the catalogue.
# S10's overdue mark goes where a status change goes.
_PUBLIC = (ev.StatusChanged, ev.AgentOverdue, ev.AgentRegistered, ev.AgentChanged, ev.ReasonSaved, ev.SettingsChanged)
_INSTANT_FIELDS = frozenset({"at", "deadline", "since"})


class Journal:
    """Builds each command's journal entries. Remembers, across batches, the routing state
    (W5: flowing, halted, at_capacity) it last told, so that a change of routing alone is
    told once. The service sets it from the engine it rebuilt after a start or a failed
    commit (what the last committed batch told); None tells the next one."""

    __slots__ = ("routing",)

    def __init__(self, routing: str | None = None) -> None:
        self.routing = routing

    def add(self, events: list[ev.Event], ws: Workspace, out: list[JournalEntry]) -> None:
        """Appends to `out` an entry for each event, then what the command changed as a
        whole: the queue (`queue.changed`) and the widget's rows (`agent.updated`)."""
        touched: dict[int, bool] = {}  # agent -> touched by anything but a status change
        status_entries: dict[int, JournalEntry] = {}  # each agent's last status change
        moves_queue = False
        for event in events:
            entry = _chat_entry(event) if type(event) in _CHAT else _entry(event, ws, touched)
            out.append(entry)
            if type(event) is ev.StatusChanged:
                status_entries[event.agent_id] = entry
            elif type(event) is ev.ReasonSaved:
                _in_the_break(event.code, ws, touched)
            elif not moves_queue:
                moves_queue = _moves_queue(event, events, ws)
        self._queue_changed(ws, moves_queue, out)
        # The widget's row (W1) for each agent a command touched. When all that happened to an
        # agent was a change of status, the row's news rides on that `agent.status_changed`
        # (its `status` and `presence` after the command): one event, one frame to every
        # dashboard, where a separate `agent.updated` doubled the fan-out of the most
        # frequent change. Anything else (threads, requests, prompts) sends the whole row.
        for agent_id, entry in status_entries.items():
            agent = ws.agents.get(agent_id)
            if agent is not None and not touched[agent_id]:
                entry.data["status"] = status_view(ws, agent)
                entry.data["presence"] = presence_of(agent.state).value
                entry.data["disconnect_deadline"] = iso(agent.grace_deadline)  # S8: may end with it
                entry.data["overdue"] = agent.overdue  # S10: a new break starts on time
                entry.data["overdue_at"] = iso(agent.overdue_at)
        for agent_id, other in touched.items():
            agent = ws.agents.get(agent_id)
            if agent is not None and other:
                out.append(
                    JournalEntry(
                        "agent.updated",
                        ws.clock,
                        {"agent": agent_view(ws, agent)},
                        {"agents": [agent.id], "teams": [agent.team], "public": False},
                    )
                )

    def _queue_changed(self, ws: Workspace, moves_queue: bool, out: list[JournalEntry]) -> None:
        """`queue.changed` when the queue moved, or when routing alone changed (W5: an agent
        went active, freed up or became full), so that "halted" and "at capacity" are told
        live. One `routing()` per command: O(1)."""
        routing = ws.routing()
        if not moves_queue and routing == self.routing:
            return
        self.routing = routing
        # Every supervisor watches the shared queue, but not other teams' agents: the
        # queue's counts go to all of them, who took a thread stays with its team.
        waiting_for_owner = sum(len(ws.agents[a].reserved) for a in ws.reserving)
        out.append(
            JournalEntry(
                "queue.changed",
                ws.clock,
                {"length": len(ws.queue), "waiting_for_owner": waiting_for_owner, "routing": routing},
                {"agents": [], "teams": [], "public": False, "queue": True},
            )
        )


def _entry(event: ev.Event, ws: Workspace, touched: dict[int, bool]) -> JournalEntry:
    """The event's entry, seen by the agents it names, the holder of its thread, and their
    teams' supervisors (or by everyone, for public events)."""
    shape = _shape(type(event))
    data = event_data(event, shape)
    agents = [a for a in map(event.__getattribute__, shape.agent_fields) if a is not None]
    thread_id: int | None = event.thread_id if shape.has_thread else None  # type: ignore[attr-defined]
    audience: list[int] = []
    if thread_id is not None:
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
    return JournalEntry(event.name, event.at, data, scope)


_CHAT = (ev.ChatMessageSent, ev.ChatRead)


def _chat_entry(event: ev.Event) -> JournalEntry:
    """C1. A message goes to the people of its conversation (`users` for a direct one; for a
    room, `room`: whoever is in the team when it is delivered, stream_filter.py); a read mark
    to its reader alone (their other pages). The thread a message points to is not told here:
    the same entry goes to everyone, and some of them may not see that thread (the message's
    read, service/chat.py, shows it to each reader who may)."""
    if isinstance(event, ev.ChatRead):
        data = {"conversation_id": event.conversation_id, "user_id": event.user_id, "up_to": event.up_to}
        return JournalEntry(event.name, event.at, data, {"chat": event.conversation_id, "users": [event.user_id]})
    assert isinstance(event, ev.ChatMessageSent)
    data = {
        "id": event.message_id,
        "conversation_id": event.conversation_id,
        "sender_id": event.sender_id,
        "sender_name": event.sender_name,
        "text": event.text,
        "at": iso(event.at),
        "about_thread": event.about_thread is not None,
    }
    conversation = chat.parse(event.conversation_id)
    scope: dict[str, Any] = {"chat": conversation.id, "users": [event.sender_id]}
    if isinstance(conversation, chat.Direct):
        scope["users"] = [conversation.low, conversation.high]
    else:
        scope["room"] = conversation.team
    return JournalEntry(event.name, event.at, data, scope)


def _in_the_break(code: str, ws: Workspace, touched: dict[int, bool]) -> None:
    """A reason saved changes the rows of the agents on that break: its label, and its time
    limit (S10: when they are overdue, or whether they are now)."""
    for agent in ws.agents.values():
        if agent.state is State.INACTIVE and agent.reason == code:
            touched[agent.id] = True


def _moves_queue(event: ev.Event, events: list[ev.Event], ws: Workspace) -> bool:
    """Did this event put a thread into the queue or take one out of it (R4 waits included)?
    A new thread that went to an agent in the same command never stood in the queue: most
    threads arrive so, and telling every supervisor's page of each would be the stream's
    busiest fan-out for nothing it shows (a change of routing it caused is told anyway)."""
    if isinstance(event, ev.ThreadCreated):
        thread = ws.threads.get(event.thread_id)
        return thread is None or thread.agent_id is None
    if isinstance(event, ev.ThreadAssigned):
        return not any(type(e) is ev.ThreadCreated and e.thread_id == event.thread_id for e in events)
    if isinstance(event, ev.ThreadRequeued):
        return True
    if isinstance(event, ev.ThreadTransferred):
        return event.from_agent_id is None
    return isinstance(event, ev.ThreadClosed) and event.agent_id is None


@dataclass(frozen=True, slots=True)
class _Shape:
    """What making an entry of an event class needs to know of it, found once per class."""

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
    """The event's fields as the API shows them: instants in ISO 8601, enums by value."""
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
