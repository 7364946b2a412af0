"""Random command sequences against the engine, with the rules checked after every step.

Hypothesis drives every command and the passing of time; after each step the
invariants below must hold (R7 and friends). A refused command must leave the
engine exactly as it was. Profiles: `ci` (default) and `long`
(HYPOTHESIS_PROFILE=long) for a deeper run on demand.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError
from onduty.domain.events import (
    Event,
    MessageAdded,
    StatusChanged,
    ThreadAssigned,
    ThreadClosed,
    ThreadCreated,
)
from onduty.domain.restore import restore, take_snapshot
from onduty.domain.settings import Settings
from onduty.domain.statuses import TAKES_OWN_CLIENTS, WORKING
from onduty.domain.types import Actor, State, ThreadState

AGENTS = (1, 2, 3, 4, 5)
SUPERVISOR = Actor.supervisor(100)
CLIENTS = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")
REASONS = ("lunch", "short_break", "training", "custom", "needs_ok")
SETTINGS_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "strategy": st.sampled_from(("least_busy", "longest_idle", "round_robin", "fastest")),
        "default_capacity": st.sampled_from((1, 2, 3, 0)),
        "on_logout": st.sampled_from(("requeue", "keep")),
        "affinity_wait": st.sampled_from((0, 20, 120)),
        "response_timeout": st.sampled_from((30, 60, 90)),
        "prompt_timeout": st.sampled_from((10, 30)),
        "client_affinity_timeout": st.sampled_from((0, 3600)),
    },
)
STATES = (State.OFFLINE, State.NOT_READY, State.ACTIVE, State.ACTIVE_OWN_CLIENTS, State.INACTIVE)


def snapshot(engine: Engine) -> Any:
    """Everything a refused command must leave untouched."""
    ws = engine.workspace
    agents = tuple(
        (
            a.id,
            a.team,
            a.capacity,
            a.state,
            a.reason,
            a.since,
            tuple(sorted(a.threads)),
            tuple(sorted(a.unanswered.items())),
            a.pinned,
            a.before_logout,
            a.working_since,
            a.response_deadline,
            a.prompt_deadline,
            a.pending_request,
            tuple(a.reserved),
        )
        for a in sorted(ws.agents.values(), key=lambda a: a.id)
    )
    threads = tuple(
        (t.id, t.state, t.agent_id, tuple(sorted(t.pinned)), t.reserved_for, t.reclaim_pending)
        for t in sorted(ws.threads.values(), key=lambda t: t.id)
    )
    queue = tuple(t.id for t in ws.queue.in_order())
    requests = tuple((r.id, r.agent_id, r.reason) for r in ws.requests.values())
    reasons = tuple((r.code, r.label, r.requires_approval, r.retired) for r in ws.reasons.all())
    return agents, threads, queue, requests, reasons, ws.settings, ws.next_thread_id, ws.next_message_id


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(Settings(response_timeout=60, prompt_timeout=30, affinity_wait=20))
        self.now = 0.0
        self.open_threads: set[int] = set()
        self.message_threads: dict[int, int] = {}  # every message written -> its thread, as storage keeps it
        self.shadow: dict[int, tuple[State, str | None]] = {}
        for i, agent_id in enumerate(AGENTS):
            self.apply(c.RegisterAgent(agent_id, "team-a" if i < 3 else "team-b", capacity=None if i % 2 else 2))
            self.shadow[agent_id] = (State.OFFLINE, None)
        self.apply(c.AddReason("custom", "Coaching"))
        self.apply(c.AddReason("needs_ok", "Training (approved)", requires_approval=True))
        for agent_id in AGENTS:  # start from a working team; rules take it anywhere from here
            self.apply(c.Login(agent_id))
            if agent_id <= 3:
                self.apply(c.SetStatus(agent_id, State.ACTIVE, None, Actor.agent(agent_id)))

    # -- plumbing --------------------------------------------------------------------

    def apply(self, command: c.Command) -> None:
        before = snapshot(self.engine)
        try:
            events = self.engine.handle(command, self.now)
        except DomainError as error:
            assert error.message
            assert snapshot(self.engine) == before, f"refused {command!r} changed the engine"
            return
        self.check_events(events)

    def check_events(self, events: list[Event]) -> None:
        ws = self.engine.workspace
        kicked: set[int] = set()
        for event in events:
            if isinstance(event, StatusChanged):
                assert self.shadow[event.agent_id] == (event.from_state, event.from_reason), (
                    "S7: a change went unrecorded"
                )
                self.shadow[event.agent_id] = (event.to_state, event.to_reason)
                if event.to_state is State.KICKED_OUT:
                    assert event.actor.kind == "system", "S2: only the system sets kicked_out"
                    kicked.add(event.agent_id)
            elif isinstance(event, ThreadAssigned):
                state = self.shadow[event.agent_id][0]
                if event.trace.strategy == "affinity":
                    assert state in TAKES_OWN_CLIENTS, "R4: own clients go only to active* agents"
                else:
                    assert state is State.ACTIVE, f"R2: router gave a thread to a {state} agent"
                agent = ws.agents[event.agent_id]
                assert event.trace.load < ws.capacity_of(agent), "R2: router exceeded capacity"
            elif isinstance(event, ThreadCreated):
                self.open_threads.add(event.thread_id)
            elif isinstance(event, MessageAdded):
                assert event.message_id not in self.message_threads, "a message id given twice"
                self.message_threads[event.message_id] = event.thread_id
            elif isinstance(event, ThreadClosed):
                self.open_threads.remove(event.thread_id)
        for agent_id in kicked:
            assert not ws.agents[agent_id].threads, "S6: a kicked-out agent keeps no thread"

    def held_threads(self) -> list[int]:
        return sorted(t.id for t in self.engine.workspace.threads.values() if t.agent_id is not None)

    # -- rules -----------------------------------------------------------------------

    @rule(agent=st.sampled_from(AGENTS))
    def login(self, agent: int) -> None:
        self.apply(c.Login(agent))

    @rule(agent=st.sampled_from(AGENTS), by_supervisor=st.booleans())
    def logout(self, agent: int, by_supervisor: bool) -> None:
        self.apply(c.Logout(agent, SUPERVISOR if by_supervisor else Actor.agent(agent)))

    @rule(
        agent=st.sampled_from(AGENTS),
        state=st.sampled_from((*STATES, State.ACTIVE, State.ACTIVE, State.INACTIVE)),
        reason=st.sampled_from(REASONS),
        by_supervisor=st.booleans(),
    )
    def set_status(self, agent: int, state: State, reason: str, by_supervisor: bool) -> None:
        actor = SUPERVISOR if by_supervisor else Actor.agent(agent)
        self.apply(c.SetStatus(agent, state, reason if state is State.INACTIVE else None, actor))

    @rule(
        agent=st.sampled_from(AGENTS),
        state=st.sampled_from(tuple(State)),
        reason=st.sampled_from((None, "lunch", "nope")),
        impostor=st.booleans(),
    )
    def set_status_badly(self, agent: int, state: State, reason: str | None, impostor: bool) -> None:
        """Mostly refused: kicked_out, finishing, wrong reasons, someone else's status."""
        actor = Actor.agent(AGENTS[(AGENTS.index(agent) + 1) % len(AGENTS)] if impostor else agent)
        self.apply(c.SetStatus(agent, state, reason, actor))

    @rule(client=st.sampled_from(CLIENTS), priority=st.sampled_from((0, 0, 0, 5, -3)))
    def client_writes(self, client: str, priority: int) -> None:
        self.apply(c.ReceiveClientMessage(client, "hello", priority))

    @precondition(lambda self: self.held_threads())
    @rule(data=st.data())
    def holder_answers(self, data: st.DataObject) -> None:
        thread = self.engine.workspace.threads[data.draw(st.sampled_from(self.held_threads()))]
        assert thread.agent_id is not None
        self.apply(c.Answer(thread.id, thread.agent_id, "on it"))

    @precondition(lambda self: self.engine.workspace.threads)
    @rule(data=st.data(), agent=st.sampled_from(AGENTS))
    def anyone_answers(self, data: st.DataObject, agent: int) -> None:
        """Mostly refused: only the holder answers."""
        thread_id = data.draw(st.sampled_from(sorted(self.engine.workspace.threads)))
        self.apply(c.Answer(thread_id, agent, "me too"))

    @precondition(lambda self: self.engine.workspace.threads)
    @rule(data=st.data(), by_supervisor=st.booleans())
    def close(self, data: st.DataObject, by_supervisor: bool) -> None:
        thread_id = data.draw(st.sampled_from(sorted(self.engine.workspace.threads)))
        holder = self.engine.workspace.threads[thread_id].agent_id
        actor = SUPERVISOR if by_supervisor or holder is None else Actor.agent(holder)
        self.apply(c.CloseThread(thread_id, actor))

    @precondition(lambda self: self.engine.workspace.threads)
    @rule(data=st.data(), to=st.sampled_from((*AGENTS, 99)), by_supervisor=st.booleans())
    def transfer(self, data: st.DataObject, to: int, by_supervisor: bool) -> None:
        thread_id = data.draw(st.sampled_from(sorted(self.engine.workspace.threads)))
        holder = self.engine.workspace.threads[thread_id].agent_id
        actor = SUPERVISOR if by_supervisor or holder is None else Actor.agent(holder)
        self.apply(c.Transfer(thread_id, to, actor))

    @precondition(lambda self: self.held_threads())
    @rule(data=st.data(), pinned=st.booleans())
    def pin(self, data: st.DataObject, pinned: bool) -> None:
        thread = self.engine.workspace.threads[data.draw(st.sampled_from(self.held_threads()))]
        # Any message written so far (mostly other threads': refused), or none at all.
        message_id = data.draw(st.sampled_from((*self.message_threads, 10**9)))
        assert thread.agent_id is not None
        written_in = self.message_threads.get(message_id)  # what the API reads from the messages table
        self.apply(c.PinMessage(thread.id, message_id, thread.agent_id, pinned, written_in))

    @rule(agent=st.sampled_from(AGENTS))
    def continue_working(self, agent: int) -> None:
        self.apply(c.ContinueWorking(agent))

    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data: st.DataObject, approve: bool) -> None:
        pending = sorted(self.engine.workspace.requests) or [12345]
        self.apply(c.DecideApproval(data.draw(st.sampled_from(pending)), approve, SUPERVISOR))

    @rule(
        data=st.data(),
        action=st.sampled_from(("retire", "relabel", "capacity", "settings")),
        code=st.sampled_from(REASONS),
        agent=st.sampled_from(AGENTS),
    )
    def admin(self, data: st.DataObject, action: str, code: str, agent: int) -> None:
        """An admin's change: reasons (S1), an agent's capacity (R2), workspace settings."""
        if action == "retire":
            self.apply(c.RetireReason(code))
        elif action == "relabel":
            self.apply(c.ChangeReason(code, label=f"{code} label", requires_approval=data.draw(st.booleans())))
        elif action == "capacity":
            capacity = data.draw(st.sampled_from((None, 1, 2, 4, 0)))
            self.apply(c.ChangeAgent(agent, capacity=capacity, reset_capacity=capacity is None))
        else:
            self.apply(c.ChangeSettings(data.draw(SETTINGS_CHANGES)))

    @rule()
    def restart(self) -> None:
        """The service stops and starts: the engine is rebuilt from its lasting state,
        timers included, and is indistinguishable from the one before."""
        before = snapshot(self.engine)
        deadline = self.engine.next_deadline()
        self.engine = restore(take_snapshot(self.engine))
        assert snapshot(self.engine) == before
        assert self.engine.next_deadline() == deadline
        assert [t.id for t in self.engine.workspace.queue.in_order()] == list(before[2])

    @rule(seconds=st.sampled_from((0.5, 5, 20, 31, 61, 200)))
    def time_passes(self, seconds: float) -> None:
        """Like the service and the simulator: tick at every deadline on the way."""
        target = self.now + seconds
        while (deadline := self.engine.next_deadline()) is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.check_events(self.engine.tick(self.now))
        self.now = target

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def no_thread_lost_or_held_twice(self) -> None:
        """R7: every open thread is in exactly one place: one agent, the queue, or an R4 wait."""
        ws = self.engine.workspace
        assert set(ws.threads) == self.open_threads
        holders: dict[int, int] = {}
        for agent in ws.agents.values():
            for thread_id in agent.threads:
                assert thread_id not in holders, f"thread {thread_id} held by two agents"
                holders[thread_id] = agent.id
        queued = {t.id for t in ws.queue.in_order()}
        assert len(queued) == len(ws.queue)
        for thread in ws.threads.values():
            if thread.state is ThreadState.QUEUED:
                assert thread.agent_id is None and thread.id not in holders
                assert (thread.id in queued) != (thread.reserved_for is not None)
            else:
                assert thread.state in (ThreadState.ASSIGNED, ThreadState.IN_PROGRESS)
                assert holders.get(thread.id) == thread.agent_id and thread.id not in queued

    @invariant()
    def nobody_eligible_while_a_thread_waits(self) -> None:
        """R7 and R2: after the router's step, a waiting thread means nobody eligible."""
        ws = self.engine.workspace
        eligible = {a.id for a in ws.agents.values() if a.state is State.ACTIVE and ws.has_room(a)}
        assert {a.id for a in ws.agents.values() if a in ws.picker} == eligible
        if len(ws.queue):
            assert not eligible, "R7: a thread waits while an eligible agent has room"
        if eligible:
            assert not ws.reclaim_pending, "R6/R5: a reclaim waits although someone is eligible"
        for thread_id in ws.reclaim_pending:
            thread = ws.threads[thread_id]
            assert thread.reclaim_pending and thread.state is ThreadState.ASSIGNED
            assert thread.agent_id is not None
            assert ws.agents[thread.agent_id].state not in TAKES_OWN_CLIENTS

    @invariant()
    def statuses_are_consistent(self) -> None:
        ws = self.engine.workspace
        for agent in ws.agents.values():
            assert (agent.state, agent.reason) == self.shadow[agent.id], "S7: the log disagrees with the status"
            assert (agent.reason is not None) == (agent.state in (State.INACTIVE, State.FINISHING))
            if agent.state is State.FINISHING:
                assert agent.threads, "S3: a finishing agent with no thread is not finishing"
            held = [ws.threads[t] for t in agent.threads]
            assert agent.pinned == sum(len(t.pinned) for t in held), "R8: pin count"
            for thread in held:
                assert all(self.message_threads[m] == thread.id for m in thread.pinned), "R8: a pin from elsewhere"
            assert set(agent.unanswered) == {t.id for t in held if t.state is ThreadState.ASSIGNED}
            if agent.prompt_deadline is not None:
                assert agent.state in WORKING and agent.unanswered, "S6: a prompt with nothing to answer"
            if agent.pending_request is not None:
                assert agent.state is not State.OFFLINE
                assert ws.requests[agent.pending_request].agent_id == agent.id

    @invariant()
    def timers_are_where_the_rules_put_them(self) -> None:
        """S6: a working agent with an unanswered thread has a response deadline or a prompt."""
        ws = self.engine.workspace
        for agent in ws.agents.values():
            if agent.state in WORKING and agent.unanswered and agent.prompt_deadline is None:
                assert agent.working_since is not None
                first = next(iter(agent.unanswered.values()))
                expected = max(first, agent.working_since) + ws.settings.response_timeout
                assert agent.response_deadline == expected
            elif agent.prompt_deadline is None:
                assert agent.response_deadline is None
        deadline = self.engine.next_deadline()
        assert deadline is None or deadline > self.now, "a due deadline was not fired"


TestEngineStateMachine = EngineMachine.TestCase
