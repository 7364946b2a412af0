"""From the engine's events to rows: what one batch of commands writes.

`Rows.add` runs right after each command, while the engine's state is exactly
that command's outcome. Each kind of event has its writer (`WRITERS`, as the
engine's `HANDLERS` has a handler for each command): the rows it adds, the
agents whose rows it changed, the activity it records. The journal's entries
are the service's (service/_audience.py); they come here as plain data, in
`journal`, to be written in the same transaction. `Rows` then goes to the
database in one transaction (group commit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from onduty.domain import chat
from onduty.domain import commands as c
from onduty.domain import events as ev
from onduty.domain.model import Agent, Thread
from onduty.domain.types import ThreadState
from onduty.domain.workspace import Workspace
from onduty.journal import JournalEntry
from onduty.storage import _id_lists as id_lists
from onduty.storage import activity as act
from onduty.storage.activity import ActivityTracker


@dataclass(frozen=True, slots=True)
class LoggedBatch:
    """The batch as the engine applied it, for the command log: its `now`, whether the
    timers were ticked first, and the commands applied, in order (JSON text, encoded by
    the service). Followers apply exactly this (service/follower.py)."""

    at: float
    tick: bool
    commands: str
    epoch: int | None = None  # the owner's fencing token, under several instances


@dataclass(slots=True)
class Rows:
    journal: list[JournalEntry] = field(default_factory=list)  # the service's (service/_audience.py)
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
    agent_ids: set[int] = field(default_factory=set)  # whose rows to write (agent_rows)
    connected_agents: bool = False  # and every connected agent's too (S8: an instance dropped)
    meta: dict[str, Any] = field(default_factory=dict)
    # C1: messages; who joins a conversation (in it from now on, nothing read); how far each
    # member has read (a mark only moves forward: the writer keeps the greater).
    chat_messages: list[dict[str, Any]] = field(default_factory=list)
    chat_joins: set[tuple[str, int]] = field(default_factory=set)
    chat_reads: dict[tuple[str, int], int] = field(default_factory=dict)
    activity: list[dict[str, Any]] = field(default_factory=list)
    tracker: ActivityTracker = field(default_factory=ActivityTracker)
    # The batch for the command log; None when the batch changed nothing (nothing to commit).
    log: LoggedBatch | None = None

    def __bool__(self) -> bool:
        return bool(self.journal) or self.log is not None

    def add(self, events: list[ev.Event], ws: Workspace) -> None:
        writers = WRITERS
        for event in events:
            writers[type(event)](self, event, ws)

    def add_command(self, command: Any) -> None:
        """A command that changes an agent's lasting state without an event of its own: the
        pages' input (S8) moves their idle deadline, and a stream opened or closed on one
        instance while the agent has one on another changes where they are connected; both
        kept in their row (for followers started from it)."""
        kind = type(command)
        if kind in _WITHOUT_EVENTS:
            self.agent_ids.add(command.agent_id)
        elif kind is c.DropInstance:
            # Who lost the instance but kept another is not known afterwards: every agent still
            # connected at the end of the batch is written (those it disconnected have events).
            self.connected_agents = True

    def agent_rows(self, ws: Workspace) -> list[dict[str, Any]]:
        agent_ids = self.agent_ids
        if self.connected_agents:
            agent_ids = agent_ids | {agent.id for agent in ws.agents.values() if agent.connected_on}
        return [agent_row(ws.agents[a]) for a in sorted(agent_ids) if a in ws.agents]

    def _thread(self, thread_id: int, ws: Workspace) -> bool:
        """The thread's whole row, and its holder's, while it is open; False once it is not."""
        thread = ws.threads.get(thread_id)
        if thread is None:
            return False
        self.threads[thread_id] = thread_row(thread)
        if thread.agent_id is not None:
            self.agent_ids.add(thread.agent_id)
        return True

    def _did(
        self, ws: Workspace, agent_id: int, at: float, kind: str, thread_id: int | None, seconds: float | None = None
    ) -> None:
        """An activity row (activity.py): what the agent did, and their condition after it."""
        self.activity.append(self.tracker.row(ws.agents[agent_id], at, kind, thread_id, seconds))


# Commands whose effect on an agent's row may come without an event (Connect of an agent
# connected already says nothing, but resets the input and may add an instance; Disconnect on
# one instance of several says nothing either).
_WITHOUT_EVENTS = frozenset({c.ReportInput, c.Connect, c.Disconnect})


# -- the writers: one for each kind of event -------------------------------------------------

Writer = Callable[[Rows, Any, Workspace], None]


_AgentEvent = ev.AgentChanged | ev.AgentPrompted | ev.PromptCleared | ev.AgentConnected | ev.AgentDisconnected


def _nothing(rows: Rows, event: ev.Event, ws: Workspace) -> None:
    """An event that changes no row: S10's overdue mark is derived from the agent's status
    and the reason's limit (domain/restore.py), so a restart neither loses nor repeats it."""


def _agent(rows: Rows, event: _AgentEvent, ws: Workspace) -> None:
    """An event that changes no row but the agent's (their connections and prompts included)."""
    rows.agent_ids.add(event.agent_id)


def _agent_registered(rows: Rows, event: ev.AgentRegistered, ws: Workspace) -> None:
    rows.agent_ids.add(event.agent_id)
    rows._did(ws, event.agent_id, event.at, act.REGISTERED, None)


def _status_changed(rows: Rows, event: ev.StatusChanged, ws: Workspace) -> None:
    agent_id, actor = event.agent_id, event.actor
    agent = ws.agents[agent_id]
    rows.agent_ids.add(agent_id)
    rows.status_log.append(
        {
            "agent_id": agent_id,
            "team": agent.team,
            "at": event.at,
            "from_state": event.from_state._value_,  # what .value answers, without its descriptor
            "from_reason": event.from_reason,
            "to_state": event.to_state._value_,
            "to_reason": event.to_reason,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "actor_why": actor.why,
        }
    )
    rows.activity.append(rows.tracker.row(agent, event.at, act.STATUS, None, None))
    # R6: leaving `active` with nobody else eligible marks the agent's unanswered threads for
    # reclaim, and coming back unmarks them, with no event of the threads': their rows are
    # written here, or a restart would forget the marks. None, for most status changes.
    for thread_id in agent.unanswered:
        rows._thread(thread_id, ws)


def _thread_created(rows: Rows, event: ev.ThreadCreated, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    if event.reserved_for is not None:
        rows.agent_ids.add(event.reserved_for)


def _message_added(rows: Rows, event: ev.MessageAdded, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    if event.agent_id is not None:
        rows.agent_ids.add(event.agent_id)
    rows.messages.append(
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


def _thread_assigned(rows: Rows, event: ev.ThreadAssigned, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    rows.agent_ids.add(event.agent_id)
    rows._did(ws, event.agent_id, event.at, act.RECEIVED, event.thread_id)


def _thread_answered(rows: Rows, event: ev.ThreadAnswered, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    rows.agent_ids.add(event.agent_id)
    thread = ws.threads.get(event.thread_id)
    given = thread.assigned_at if thread is not None else None
    rows._did(ws, event.agent_id, event.at, act.ANSWERED, event.thread_id, None if given is None else event.at - given)


def _thread_requeued(rows: Rows, event: ev.ThreadRequeued, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    if event.agent_id is not None:
        rows.agent_ids.add(event.agent_id)
        if event.why != "affinity_wait_over":  # they only waited for it: nothing they held
            rows._did(ws, event.agent_id, event.at, act.REQUEUED, event.thread_id)


def _thread_transferred(rows: Rows, event: ev.ThreadTransferred, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    if event.from_agent_id is not None:
        rows.agent_ids.add(event.from_agent_id)
        rows._did(ws, event.from_agent_id, event.at, act.TRANSFERRED_OUT, event.thread_id)
    rows.agent_ids.add(event.to_agent_id)
    rows._did(ws, event.to_agent_id, event.at, act.TRANSFERRED_IN, event.thread_id)


def _thread_closed(rows: Rows, event: ev.ThreadClosed, ws: Workspace) -> None:
    thread_id = event.thread_id
    if not rows._thread(thread_id, ws):
        closing = {"state": ThreadState.CLOSED.value, "closed_at": event.at, "agent_id": event.agent_id}
        closing |= {"assigned_at": None, "reserved_for": None, "reserve_deadline": None, "reclaim_pending": False}
        closing["pinned_ids"] = ""  # the list is an open thread's (_id_lists.py)
        if thread_id in rows.threads:
            rows.threads[thread_id].update(closing)
        else:
            rows.thread_closes[thread_id] = closing
    rows.owners[event.client_id] = (event.client_owner, event.at)
    if event.agent_id is not None:
        rows.agent_ids.add(event.agent_id)
        rows._did(ws, event.agent_id, event.at, act.CLOSED, event.thread_id)


def _message_pinned(rows: Rows, event: ev.MessagePinned, ws: Workspace) -> None:
    rows._thread(event.thread_id, ws)
    rows.agent_ids.add(event.agent_id)
    rows.pins[event.message_id] = event.pinned


def _approval_requested(rows: Rows, event: ev.ApprovalRequested, ws: Workspace) -> None:
    rows.agent_ids.add(event.agent_id)
    rows.requests_new.append(
        {
            "id": event.request_id,
            "agent_id": event.agent_id,
            "state": "pending",
            "requested_state": event.state.value,
            "requested_reason": event.reason,
            "created_at": event.at,
        }
    )


def _approval_decided(rows: Rows, event: ev.ApprovalDecided, ws: Workspace) -> None:
    rows.agent_ids.add(event.agent_id)
    rows.requests_done[event.request_id] = {
        "state": "approved" if event.approved else "rejected",
        "decided_at": event.at,
        "decided_by_kind": event.actor.kind,
        "decided_by_id": event.actor.id,
    }


def _approval_cancelled(rows: Rows, event: ev.ApprovalCancelled, ws: Workspace) -> None:
    rows.agent_ids.add(event.agent_id)
    rows.requests_done[event.request_id] = {"state": "cancelled", "decided_at": event.at, "why": event.why}


def _reason_saved(rows: Rows, event: ev.ReasonSaved, ws: Workspace) -> None:
    rows.reasons[event.code] = reason_row(ws, event.code)


def _settings_changed(rows: Rows, event: ev.SettingsChanged, ws: Workspace) -> None:
    rows.settings.update(event.changes)


def _chat_message(rows: Rows, event: ev.ChatMessageSent, ws: Workspace) -> None:
    rows.chat_messages.append(
        {
            "id": event.message_id,
            "conversation_id": event.conversation_id,
            "sender_id": event.sender_id,
            "text": event.text,
            "thread_id": event.about_thread,
            "at": event.at,
        }
    )
    conversation = chat.parse(event.conversation_id)
    if isinstance(conversation, chat.Direct):  # both people are in it from its first message
        rows.chat_joins.add((conversation.id, conversation.other(event.sender_id)))
    _chat_read(rows, conversation.id, event.sender_id, event.message_id)  # one's own message is read


def _chat_read_event(rows: Rows, event: ev.ChatRead, ws: Workspace) -> None:
    _chat_read(rows, event.conversation_id, event.user_id, event.up_to)


def _chat_read(rows: Rows, conversation_id: str, user_id: int, up_to: int) -> None:
    key = (conversation_id, user_id)
    rows.chat_reads[key] = max(up_to, rows.chat_reads.get(key, 0))


WRITERS: dict[type[ev.Event], Writer] = {
    ev.AgentRegistered: _agent_registered,
    ev.AgentChanged: _agent,
    ev.StatusChanged: _status_changed,
    ev.AgentPrompted: _agent,
    ev.AgentOverdue: _nothing,
    ev.PromptCleared: _agent,
    ev.AgentConnected: _agent,
    ev.AgentDisconnected: _agent,
    ev.ThreadCreated: _thread_created,
    ev.MessageAdded: _message_added,
    ev.ThreadAssigned: _thread_assigned,
    ev.ThreadAnswered: _thread_answered,
    ev.ThreadRequeued: _thread_requeued,
    ev.ThreadTransferred: _thread_transferred,
    ev.ThreadClosed: _thread_closed,
    ev.MessagePinned: _message_pinned,
    ev.ApprovalRequested: _approval_requested,
    ev.ApprovalDecided: _approval_decided,
    ev.ApprovalCancelled: _approval_cancelled,
    ev.ReasonSaved: _reason_saved,
    ev.SettingsChanged: _settings_changed,
    ev.ChatMessageSent: _chat_message,
    ev.ChatRead: _chat_read_event,
}


# -- rows of the engine's lasting state ---------------------------------------------------------


def _finite(value: float | None) -> float | None:
    return None if value is None or value == float("-inf") else value


_json = msgspec.json.Encoder()
_NOWHERE = "[]"


def _instances_json(instances: frozenset[str]) -> str:
    """S8: where the agent is connected, as JSON text (the driver's parameter for a JSON
    column): a sorted list, so that equal sets write equal rows."""
    return _json.encode(sorted(instances)).decode() if instances else _NOWHERE


def agent_row(agent: Agent) -> dict[str, Any]:
    before = agent.before_logout
    connected_on = agent.connected_on
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
        "connected": bool(connected_on),  # for readers that know only whether
        "connected_on": _instances_json(connected_on),
        "stream_seen": agent.stream_seen,
        "disconnected_at": agent.disconnected_at,
        "away_from_state": agent.away_from[0].value if agent.away_from else None,
        "away_from_reason": agent.away_from[1] if agent.away_from else None,
        "away_at": agent.away_at,
        "last_input": agent.last_input,
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
        "max_minutes": reason.max_minutes,
    }
