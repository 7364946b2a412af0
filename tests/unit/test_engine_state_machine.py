"""Random command sequences against the engine, with the rules checked after every step.

Hypothesis drives every command and the passing of time; after each step the
invariants below must hold (R7, S8 and friends). A refused command must leave the
engine exactly as it was. Profiles: `ci` (default) and `long`
(HYPOTHESIS_PROFILE=long) for a deeper run on demand.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError
from onduty.domain.events import (
    AgentConnected,
    AgentDisconnected,
    AgentOverdue,
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
from onduty.domain.types import (
    WHY_DISCONNECTED,
    WHY_FINISHING_COMPLETED,
    WHY_IDLE,
    WHY_RECONNECTED,
    Actor,
    Instant,
    State,
    ThreadState,
)

AGENTS = (1, 2, 3, 4, 5)
# S8: the instances an agent's streams may be open on ("": the one instance of a service alone).
INSTANCES = ("", "a", "b")
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
        # S8
        "disconnect_grace": st.sampled_from((0, 30, 60, 150)),
        "return_window": st.sampled_from((0, 100, 28800)),
        "idle_timeout": st.sampled_from((0, 0, 90, 250)),  # 90: refused (under the minimum)
        "on_disconnect": st.sampled_from(
            (
                {"state": "inactive", "reason": "away"},
                {"state": "offline"},
                {"state": "inactive", "reason": "short_break"},
                {"state": "inactive", "reason": "nope"},  # refused: not in the catalogue
            )
        ),
    },
)
STATES = (State.OFFLINE, State.NOT_READY, State.ACTIVE, State.ACTIVE_OWN_CLIENTS, State.INACTIVE)
# S8: the system's own changes that leave the return possible; any other change ends it.
S8_MOVES = (WHY_DISCONNECTED, WHY_IDLE)
KEEPS_THE_RETURN = (*S8_MOVES, WHY_FINISHING_COMPLETED)
MOVED_TO_INACTIVE = (State.NOT_READY, State.ACTIVE, State.ACTIVE_OWN_CLIENTS)


def snapshot(engine: Engine, with_input: bool = True) -> Any:
    """Everything a refused command must leave untouched. A restart keeps all of it but the
    pages' last input (`with_input=False`), which a new process never has."""
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
            a.connected_on,
            a.stream_seen,
            a.disconnected_at,
            a.away_from,
            a.away_at,
            a.grace_deadline,
            (a.last_input, a.idle_deadline) if with_input else None,
            a.overdue_at,
            a.overdue,
        )
        for a in sorted(ws.agents.values(), key=lambda a: a.id)
    )
    threads = tuple(
        (t.id, t.state, t.agent_id, tuple(sorted(t.pinned)), t.reserved_for, t.reclaim_pending)
        for t in sorted(ws.threads.values(), key=lambda t: t.id)
    )
    queue = tuple(t.id for t in ws.queue.in_order())
    requests = tuple((r.id, r.agent_id, r.reason) for r in ws.requests.values())
    reasons = tuple((r.code, r.label, r.requires_approval, r.retired, r.max_minutes) for r in ws.reasons.all())
    return agents, threads, queue, requests, reasons, ws.settings, ws.next_thread_id, ws.next_message_id


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(Settings(response_timeout=60, prompt_timeout=30, affinity_wait=20))
        self.now = 0.0
        self.open_threads: set[int] = set()
        self.message_threads: dict[int, int] = {}  # every message written -> its thread, as storage keeps it
        self.shadow: dict[int, tuple[State, str | None]] = {}
        # S8, kept apart from the engine: on which instances each agent holds a stream open, who
        # has connected since their login, and the status a return would give back (with when
        # the system moved them).
        self.streams: dict[int, set[str]] = {agent_id: set() for agent_id in AGENTS}
        self.announced: set[int] = set()  # connected, as the events say
        self.watched: dict[int, bool] = dict.fromkeys(AGENTS, False)
        self.away: dict[int, tuple[tuple[State, str | None], Instant] | None] = dict.fromkeys(AGENTS)
        for i, agent_id in enumerate(AGENTS):
            self.apply(c.RegisterAgent(agent_id, "team-a" if i < 3 else "team-b", capacity=None if i % 2 else 2))
            self.shadow[agent_id] = (State.OFFLINE, None)
        self.apply(c.AddReason("custom", "Coaching", max_minutes=1))  # S10: overdue after 60 s
        # S10: the break each agent was last told overdue in (agent -> since), to tell it once.
        self.told_overdue: dict[int, Instant] = {}
        self.apply(c.AddReason("needs_ok", "Training (approved)", requires_approval=True))
        for agent_id in AGENTS:  # start from a working team; rules take it anywhere from here
            self.apply(c.Login(agent_id))
            if agent_id <= 3:
                self.apply(c.SetStatus(agent_id, State.ACTIVE, None, Actor.agent(agent_id)))
        for agent_id in (1, 2, 4):  # pages open for some; agents 3 and 5 drive the API alone
            self.connect(agent_id, "")

    # -- plumbing --------------------------------------------------------------------

    @property
    def connected(self) -> set[int]:
        """The agents with a stream open on some instance."""
        return {agent_id for agent_id, on in self.streams.items() if on}

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
        disconnected = [e.agent_id for e in events if isinstance(e, AgentDisconnected)]
        assert disconnected == sorted(disconnected), "S8: several disconnected at once go by id"
        for i, event in enumerate(events):
            if isinstance(event, StatusChanged):
                assert self.shadow[event.agent_id] == (event.from_state, event.from_reason), (
                    "S7: a change went unrecorded"
                )
                self.shadow[event.agent_id] = (event.to_state, event.to_reason)
                self.check_s8_change(event)
                if event.to_state is State.KICKED_OUT:
                    assert event.actor.kind == "system", "S2: only the system sets kicked_out"
                    kicked.add(event.agent_id)
            elif isinstance(event, AgentConnected):
                assert event.agent_id in self.connected, "S8: connected without a Connect"
                assert event.agent_id not in self.announced, "S8: connected twice"
                self.announced.add(event.agent_id)
            elif isinstance(event, AgentDisconnected):
                assert event.agent_id not in self.connected, "S8: disconnected without a Disconnect"
                assert event.agent_id in self.announced, "S8: disconnected twice"
                self.announced.remove(event.agent_id)
            elif isinstance(event, ThreadAssigned):
                state = self.shadow[event.agent_id][0]
                if event.trace.strategy == "affinity":
                    assert state in TAKES_OWN_CLIENTS, "R4: own clients go only to active* agents"
                else:
                    assert state is State.ACTIVE, f"R2: router gave a thread to a {state} agent"
                agent = ws.agents[event.agent_id]
                assert event.trace.load < ws.capacity_of(agent), "R2: router exceeded capacity"
            elif isinstance(event, AgentOverdue):
                agent = ws.agents[event.agent_id]
                assert self.shadow[event.agent_id] == (State.INACTIVE, event.reason), "S10: overdue off a break"
                assert event.at >= event.since + event.max_minutes * 60, "S10: overdue too early"
                # Still overdue after the step, unless a later timer of the same tick (S8's grace,
                # the idle limit) moved the agent on from that break.
                moved_on = any(isinstance(e, StatusChanged) and e.agent_id == agent.id for e in events[i + 1 :])
                assert moved_on or (agent.overdue and agent.since == event.since)
                told = self.told_overdue.get(event.agent_id)
                self.told_overdue[event.agent_id] = event.since
                assert told != event.since, "S10: overdue told twice in one break (its limit unchanged)"
            elif isinstance(event, ThreadCreated):
                self.open_threads.add(event.thread_id)
            elif isinstance(event, MessageAdded):
                assert event.message_id not in self.message_threads, "a message id given twice"
                self.message_threads[event.message_id] = event.thread_id
            elif isinstance(event, ThreadClosed):
                self.open_threads.remove(event.thread_id)
        for agent_id in kicked:
            assert not ws.agents[agent_id].threads, "S6: a kicked-out agent keeps no thread"

    def check_s8_change(self, event: StatusChanged) -> None:
        """S8 on one status change, against this machine's own account of connections."""
        agent_id, actor = event.agent_id, event.actor
        why = actor.why if actor.kind == "system" else None
        settings = self.engine.workspace.settings
        if event.from_state is State.OFFLINE:  # a login, whichever way (S5, S2, or S8's return)
            self.watched[agent_id] = agent_id in self.connected
        if why in S8_MOVES:
            assert self.watched[agent_id], "S8: moved an agent who has not connected since their login"
            if why == WHY_DISCONNECTED:
                assert agent_id not in self.connected, "S8: moved for a disconnect while connected"
                assert settings.disconnect_grace > 0, "S8: grace 0 turns the rule off"
            else:
                assert agent_id in self.connected, "S8: idle is for connected agents"
                assert settings.idle_timeout > 0, "S8: idle_timeout 0 is off"
            target = settings.on_disconnect
            if target.state is State.OFFLINE:
                assert event.to_state is State.OFFLINE
            else:
                assert event.from_state in MOVED_TO_INACTIVE, f"S8: moved a {event.from_state} agent"
                assert event.to_state in (State.INACTIVE, State.FINISHING) and event.to_reason == target.reason
            if self.away[agent_id] is None:  # the first move: what a return gives back
                state, reason = event.from_state, event.from_reason
                self.away[agent_id] = ((State.INACTIVE if state is State.FINISHING else state, reason), event.at)
        elif why == WHY_RECONNECTED:
            away = self.away[agent_id]
            assert away is not None, "S8: a return with nothing to give back"
            assert agent_id in self.connected, "S8: returned while not connected"
            (state, reason), at = away
            assert event.at <= at + settings.return_window, "S8: returned after return_window"
            if state is State.KICKED_OUT:
                state, reason = State.NOT_READY, None
            if state is State.INACTIVE and (r := self.engine.workspace.reasons.get(reason or "")) and r.retired:
                state, reason = State.NOT_READY, None
            expected = (state, reason)
            if state is State.INACTIVE:
                assert (event.to_state, event.to_reason) in (expected, (State.FINISHING, reason)), "S8/S3: the return"
            else:
                assert (event.to_state, event.to_reason) == expected, "S8: the return gives back the status before"
            self.away[agent_id] = None
        elif why != WHY_FINISHING_COMPLETED:
            self.away[agent_id] = None  # somebody decided anew: nothing to give back

    def returned(self, agent_id: int, away: tuple[tuple[State, str | None], Instant] | None) -> None:
        """After a Connect, or input while connected: a return, if the rules say there is one."""
        self.away[agent_id] = None  # tried: whatever it gave, nothing is left to give back
        if away is None:
            return
        (state, reason), at = away
        settings, agent = self.engine.workspace.settings, self.engine.workspace.agents[agent_id]
        if settings.return_window <= 0 or self.now > at + settings.return_window:
            return
        if state is State.KICKED_OUT or (
            state is State.INACTIVE and (r := self.engine.workspace.reasons.get(reason or "")) and r.retired
        ):
            state, reason = State.NOT_READY, None
        back = (agent.state, agent.reason)
        through_s3 = (State.FINISHING, reason) if state is State.INACTIVE else None
        assert back in ((state, reason), through_s3), f"S8: no return to {(state, reason)} within return_window"

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

    # -- S8: the service's counts of each agent's event streams, and the pages' input ------

    @initialize(on_disconnect=st.sampled_from(("inactive", "offline")), idle_timeout=st.sampled_from((0, 250)))
    def s8_settings(self, on_disconnect: str, idle_timeout: int) -> None:
        """Both ways S8 moves an agent, from the start (the admin rule changes them later)."""
        target = {"state": "offline"} if on_disconnect == "offline" else {"state": "inactive", "reason": "away"}
        self.apply(c.ChangeSettings({"on_disconnect": target, "idle_timeout": idle_timeout}))

    @rule(agent=st.sampled_from((*AGENTS, 99)), instance=st.sampled_from(INSTANCES))
    def connect(self, agent: int, instance: str) -> None:
        """The agent's first stream on `instance` opens: whether or not they have one elsewhere,
        they are there (a return, if one is due)."""
        away = self.away.get(agent)
        if agent in AGENTS:
            self.streams[agent].add(instance)
            self.watched[agent] = True
        self.apply(c.Connect(agent, instance))
        if agent in AGENTS:
            self.returned(agent, away)

    @precondition(lambda self: any(self.away.values()))
    @rule(data=st.data(), by_input=st.booleans(), instance=st.sampled_from(INSTANCES))
    def comes_back(self, data: st.DataObject, by_input: bool, instance: str) -> None:
        """An agent the system moved opens a page again, or moves the mouse on one still open."""
        agent = data.draw(st.sampled_from(sorted(a for a, away in self.away.items() if away)))
        if by_input and agent in self.connected:
            self.report_input(agent)
        else:
            self.connect(agent, instance)

    @rule(agent=st.sampled_from((*AGENTS, 99)), instance=st.sampled_from(INSTANCES))
    def disconnect(self, agent: int, instance: str) -> None:
        """The agent's last stream on `instance` closes (or there was none there)."""
        self.streams.get(agent, set()).discard(instance)
        self.apply(c.Disconnect(agent, instance))

    @rule(instance=st.sampled_from((*INSTANCES, "never-seen")))
    def instance_dies(self, instance: str) -> None:
        """An instance dies: every stream open on it is gone (S8: DropInstance)."""
        for on in self.streams.values():
            on.discard(instance)
        self.apply(c.DropInstance(instance))

    @rule(agent=st.sampled_from((*AGENTS, 99)))
    def report_input(self, agent: int) -> None:
        away = self.away.get(agent)
        self.apply(c.ReportInput(agent))
        if agent in self.connected:
            self.returned(agent, away)

    @rule()
    def reset_connections(self) -> None:
        for on in self.streams.values():
            on.clear()
        self.apply(c.ResetConnections())

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
        action=st.sampled_from(("retire", "relabel", "limit", "capacity", "settings")),
        code=st.sampled_from(REASONS),
        agent=st.sampled_from(AGENTS),
    )
    def admin(self, data: st.DataObject, action: str, code: str, agent: int) -> None:
        """An admin's change: reasons (S1), an agent's capacity (R2), workspace settings."""
        if action == "retire":
            self.apply(c.RetireReason(code))
        elif action == "relabel":
            self.apply(c.ChangeReason(code, label=f"{code} label", requires_approval=data.draw(st.booleans())))
        elif action == "limit":  # S10; 0 is refused
            minutes = data.draw(st.sampled_from((None, 1, 3, 0)))
            self.told_overdue.clear()  # a new limit starts the breaks afresh: told again when reached
            self.apply(c.ChangeReason(code, max_minutes=minutes, clear_max_minutes=minutes is None))
        elif action == "capacity":
            capacity = data.draw(st.sampled_from((None, 1, 2, 4, 0)))
            self.apply(c.ChangeAgent(agent, capacity=capacity, reset_capacity=capacity is None))
        else:
            self.apply(c.ChangeSettings(data.draw(SETTINGS_CHANGES)))

    @rule()
    def restart(self) -> None:
        """The service stops and starts: the engine is rebuilt from its lasting state,
        timers included, and is indistinguishable from the one before (but for the pages'
        input, not kept: a connected agent's idle time counts from the last step)."""
        before = snapshot(self.engine, with_input=False)
        deadline = self.engine.next_deadline()
        idle = any(a.idle_deadline is not None for a in self.engine.workspace.agents.values())
        self.engine = restore(take_snapshot(self.engine))
        assert snapshot(self.engine, with_input=False) == before
        if not idle:
            assert self.engine.next_deadline() == deadline
        assert [t.id for t in self.engine.workspace.queue.in_order()] == list(before[2])

    @rule()
    def service_restarts(self) -> None:
        """As the service starts: restore, then no stream is open in the new process."""
        self.engine = restore(take_snapshot(self.engine))
        for on in self.streams.values():
            on.clear()
        self.apply(c.ResetConnections())

    @rule(seconds=st.sampled_from((0.5, 5, 20, 31, 61, 200)))
    def time_passes(self, seconds: float) -> None:
        """Like the service and the simulator: tick at every deadline on the way."""
        target = self.now + seconds
        while (deadline := self.engine.next_deadline()) is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.check_events(self.engine.tick(self.now))
        self.now = target

    @rule(seconds=st.sampled_from((61, 200, 400)))
    def late_tick(self, seconds: float) -> None:
        """The engine woken late (the service was busy or down): every deadline due on the
        way fires in one step, at the time of the tick."""
        self.now += seconds
        self.check_events(self.engine.tick(self.now))

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
        live = [t.reserve_deadline for t in ws.threads.values() if t.reserve_deadline is not None]
        for a in ws.agents.values():
            live += [d for d in (a.response_deadline, a.prompt_deadline, a.grace_deadline, a.idle_deadline) if d]
            if a.overdue_at is not None and not a.overdue:
                live.append(a.overdue_at)
        assert deadline == min(live, default=None), "the engine's next deadline is not the earliest of the rules'"

    @invariant()
    def s8_connections_and_deadlines(self) -> None:
        """S8: who is connected, who is watched, and where the grace and idle deadlines are."""
        ws = self.engine.workspace
        settings = ws.settings
        offline_target = settings.on_disconnect.state is State.OFFLINE
        assert self.announced == self.connected
        instances: dict[str, int] = {}
        for agent in ws.agents.values():
            assert agent.connected_on == self.streams[agent.id], "S8: where the agent is connected"
            assert agent.connected == bool(agent.connected_on) == (agent.id in self.connected)
            for instance in agent.connected_on:
                instances[instance] = instances.get(instance, 0) + 1
        assert ws.agents_on_instance == instances, "S8: the count of agents on each instance"
        assert ws.connected_instances() == set(instances)
        for agent in ws.agents.values():
            assert agent.stream_seen == self.watched[agent.id], "S8: watched means connected since the login"
            movable = (
                agent.stream_seen
                and agent.state is not State.OFFLINE
                and (offline_target or agent.state in MOVED_TO_INACTIVE)
            )
            grace: Instant | None = None
            if movable and not agent.connected and settings.disconnect_grace > 0:
                assert agent.disconnected_at is not None
                grace = max(agent.disconnected_at, agent.since) + settings.disconnect_grace
            assert agent.grace_deadline == grace, "S8: the grace deadline"
            idle: Instant | None = None
            if movable and agent.connected and settings.idle_timeout > 0:
                assert agent.last_input is not None
                idle = max(agent.last_input, agent.since) + settings.idle_timeout
            assert agent.idle_deadline == idle, "S8: the idle deadline"
            if agent.grace_deadline is not None:
                assert not agent.connected and movable
            away = self.away[agent.id]
            assert agent.away_from == (away[0] if away else None), "S8: the status a return gives back"
            assert agent.away_at == (away[1] if away else None)
            if agent.away_from is not None:
                assert agent.set_by.kind == "system" and agent.set_by.why in KEEPS_THE_RETURN, (
                    "S8: a return pending after somebody else changed the status"
                )

    @invariant()
    def s10_overdue_is_where_the_rules_put_it(self) -> None:
        """S10: an agent in a limited break is overdue exactly from since + max_minutes."""
        ws = self.engine.workspace
        for agent in ws.agents.values():
            reason = ws.reasons.get(agent.reason or "")
            limited = agent.state is State.INACTIVE and reason is not None and reason.max_minutes is not None
            expected = agent.since + reason.max_minutes * 60 if limited and reason and reason.max_minutes else None
            assert agent.overdue_at == expected
            assert agent.overdue == (expected is not None and expected <= ws.clock)

    @invariant()
    def routing_state_is_counted_right(self) -> None:
        """W5 and R6: the counts behind `routing()` agree with a count from scratch."""
        ws = self.engine.workspace
        active = [a for a in ws.agents.values() if a.state is State.ACTIVE]
        assert ws.active_count == len(active)
        if any(ws.has_room(a) for a in active):
            assert ws.routing() == "flowing"
        else:
            assert ws.routing() == ("at_capacity" if active else "halted")


TestEngineStateMachine = EngineMachine.TestCase
