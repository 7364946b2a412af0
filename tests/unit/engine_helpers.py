"""A small test harness over the domain engine: build a workspace, drive it with
explicit times, read what happened.

`World` keeps every event the engine emitted (`log`) and the events of the last
command or tick (`last`). Times are always passed in: `t=0`, `t=10`, `t=70`…
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeVar

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.events import Event, MessageAdded, StatusChanged, ThreadAssigned
from onduty.domain.model import Agent, Thread
from onduty.domain.settings import Settings
from onduty.domain.types import Actor, AgentId, ClientId, Instant, MessageId, State, ThreadId
from onduty.domain.workspace import Workspace

E = TypeVar("E", bound=Event)

SUPERVISOR_ID = 900
SUPERVISOR = Actor.supervisor(SUPERVISOR_ID)
ADMIN = Actor.admin(901)


class World:
    def __init__(self, **settings: Any) -> None:
        self.engine = Engine(Settings().changed(settings) if settings else None)
        self.log: list[Event] = []
        self.last: list[Event] = []

    @property
    def ws(self) -> Workspace:
        return self.engine.workspace

    # -- driving ---------------------------------------------------------------

    def do(self, command: c.Command, t: Instant) -> list[Event]:
        self.last = self.engine.handle(command, t)
        self.log.extend(self.last)
        return self.last

    def tick(self, t: Instant) -> list[Event]:
        self.last = self.engine.tick(t)
        self.log.extend(self.last)
        return self.last

    def next_deadline(self) -> Instant | None:
        return self.engine.next_deadline()

    # -- agents ----------------------------------------------------------------

    def register(self, *agent_ids: AgentId, t: Instant = 0, capacity: int | None = None, team: str = "support") -> None:
        for agent_id in agent_ids:
            self.do(c.RegisterAgent(agent_id, team, capacity, name=f"agent {agent_id}"), t)

    def login(self, agent_id: AgentId, t: Instant) -> list[Event]:
        return self.do(c.Login(agent_id), t)

    def logout(self, agent_id: AgentId, t: Instant, by: Actor | None = None) -> list[Event]:
        return self.do(c.Logout(agent_id, by or Actor.agent(agent_id)), t)

    def set_status(
        self, agent_id: AgentId, state: State, reason: str | None = None, *, t: Instant, by: Actor | None = None
    ) -> list[Event]:
        return self.do(c.SetStatus(agent_id, state, reason, by or Actor.agent(agent_id)), t)

    def go_inactive(self, agent_id: AgentId, reason: str, *, t: Instant, by: Actor | None = None) -> list[Event]:
        return self.set_status(agent_id, State.INACTIVE, reason, t=t, by=by)

    def ready(self, *agent_ids: AgentId, t: Instant = 0, capacity: int | None = None) -> None:
        """Register (if needed), log in and set `active`, one agent after the other."""
        for agent_id in agent_ids:
            if agent_id not in self.ws.agents:
                self.register(agent_id, t=t, capacity=capacity)
            self.login(agent_id, t)
            self.set_status(agent_id, State.ACTIVE, t=t)

    def logged_in(self, *agent_ids: AgentId, t: Instant = 0, capacity: int | None = None) -> None:
        """Register (if needed) and log in: `not_ready` on a first login."""
        for agent_id in agent_ids:
            if agent_id not in self.ws.agents:
                self.register(agent_id, t=t, capacity=capacity)
            self.login(agent_id, t)

    def continue_working(self, agent_id: AgentId, t: Instant) -> list[Event]:
        return self.do(c.ContinueWorking(agent_id), t)

    # -- S8 connections (the service's counts of an agent's event streams) ------------

    def connect(self, agent_id: AgentId, t: Instant, on: str = "") -> list[Event]:
        """The agent's first stream on instance `on` opened ("": the one instance of a service alone)."""
        return self.do(c.Connect(agent_id, on), t)

    def disconnect(self, agent_id: AgentId, t: Instant, on: str = "") -> list[Event]:
        """The agent's last stream on instance `on` closed."""
        return self.do(c.Disconnect(agent_id, on), t)

    def report_input(self, agent_id: AgentId, t: Instant) -> list[Event]:
        return self.do(c.ReportInput(agent_id), t)

    def present(self, *agent_ids: AgentId, t: Instant = 0, capacity: int | None = None) -> None:
        """`ready`, with a page open: S8 watches them from now on."""
        for agent_id in agent_ids:
            self.ready(agent_id, t=t, capacity=capacity)
            self.connect(agent_id, t)

    def add_reason(self, code: str, label: str, *, t: Instant = 0, requires_approval: bool = False) -> None:
        self.do(c.AddReason(code, label, requires_approval), t)

    def settings(self, t: Instant, **changes: Any) -> list[Event]:
        return self.do(c.ChangeSettings(changes), t)

    # -- threads ---------------------------------------------------------------

    def client_writes(self, client_id: ClientId, t: Instant, text: str = "hello", priority: int = 0) -> ThreadId:
        """A client's message; answers the id of the client's open thread."""
        self.do(c.ReceiveClientMessage(client_id, text, priority), t)
        return self.ws.open_by_client[client_id]

    def answer(self, thread_id: ThreadId, t: Instant, agent_id: AgentId | None = None) -> list[Event]:
        holder = self.holder(thread_id) if agent_id is None else agent_id
        assert holder is not None, f"thread {thread_id} has no holder to answer it"
        return self.do(c.Answer(thread_id, holder, "on it"), t)

    def close(self, thread_id: ThreadId, t: Instant, by: Actor | None = None) -> list[Event]:
        holder = self.holder(thread_id)
        if by is None:
            by = SUPERVISOR if holder is None else Actor.agent(holder)
        return self.do(c.CloseThread(thread_id, by), t)

    def transfer(self, thread_id: ThreadId, to: AgentId, t: Instant, by: Actor | None = None) -> list[Event]:
        return self.do(c.Transfer(thread_id, to, by or SUPERVISOR), t)

    def pin(
        self,
        thread_id: ThreadId,
        message_id: MessageId,
        t: Instant,
        agent_id: AgentId | None = None,
        pinned: bool = True,
    ) -> list[Event]:
        holder = self.holder(thread_id) if agent_id is None else agent_id
        assert holder is not None
        # As the API does: the message's own thread comes from where messages are kept (here, the log).
        written_in = self.message_threads().get(message_id)
        return self.do(c.PinMessage(thread_id, message_id, holder, pinned, written_in), t)

    # -- looking ---------------------------------------------------------------

    def agent(self, agent_id: AgentId) -> Agent:
        return self.ws.agents[agent_id]

    def state(self, agent_id: AgentId) -> State:
        return self.ws.agents[agent_id].state

    def status(self, agent_id: AgentId) -> tuple[State, str | None]:
        agent = self.ws.agents[agent_id]
        return agent.state, agent.reason

    def thread(self, thread_id: ThreadId) -> Thread:
        return self.ws.threads[thread_id]

    def holder(self, thread_id: ThreadId) -> AgentId | None:
        return self.ws.threads[thread_id].agent_id

    def held(self, agent_id: AgentId) -> list[ThreadId]:
        return list(self.ws.agents[agent_id].threads)

    def queue(self) -> list[ThreadId]:
        """The general queue in routing order."""
        return [thread.id for thread in self.ws.queue.in_order()]

    def message_threads(self) -> dict[MessageId, ThreadId]:
        """Each message written so far -> its thread, from the events (the engine keeps no lists)."""
        return {e.message_id: e.thread_id for e in self.log if isinstance(e, MessageAdded)}

    def messages(self, thread_id: ThreadId) -> list[MessageId]:
        return [m for m, thread in self.message_threads().items() if thread == thread_id]

    def pinned(self, agent_id: AgentId) -> int:
        return self.ws.agents[agent_id].pinned

    def is_open(self, thread_id: ThreadId) -> bool:
        return thread_id in self.ws.threads


def of(kind: type[E], events: list[Event]) -> list[E]:
    """The events of one type, in order."""
    return [event for event in events if isinstance(event, kind)]


def status_changes(events: list[Event], agent_id: AgentId | None = None) -> list[StatusChanged]:
    return [e for e in of(StatusChanged, events) if agent_id is None or e.agent_id == agent_id]


def assignments(events: list[Event]) -> list[tuple[ThreadId, AgentId]]:
    """(thread, agent) for each router or affinity assignment, in order."""
    return [(e.thread_id, e.agent_id) for e in of(ThreadAssigned, events)]


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: copy.deepcopy(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything a command may change, as plain comparable data."""
    ws = engine.workspace
    return {
        "agents": {agent_id: _fields(agent) for agent_id, agent in ws.agents.items()},
        "threads": {thread_id: _fields(thread) for thread_id, thread in ws.threads.items()},
        "queue": [thread.id for thread in ws.queue.in_order()],
        "queue_size": len(ws.queue),
        "open_by_client": dict(ws.open_by_client),
        "requests": {request_id: _fields(request) for request_id, request in ws.requests.items()},
        "reasons": [_fields(reason) for reason in ws.reasons.all()],
        "settings": ws.settings.as_dict(),
        "strategy": ws.picker.strategy,
        "eligible": sorted(agent.id for agent in ws.agents.values() if agent in ws.picker),
        "affinity": sorted(ws.affinity.items()),
        "reclaim_pending": list(ws.reclaim_pending),
        "reserving": list(ws.reserving),
        "ids": (ws.next_thread_id, ws.next_message_id, ws.next_request_id),
        "timers": len(ws.timers),
        "clock": ws.clock,
    }
