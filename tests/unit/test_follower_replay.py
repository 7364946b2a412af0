"""A follower's engine, restored at any moment and then fed only the batches the owner
would log, stays equal to the owner's engine (ENGINEERING.md, "Scale-out": followers
apply the committed log through the same domain code).

The engine state machine drives the owner through `BatchRun`, as the service does; each
batch that changed something (what the service logs) is applied to the follower through
a `BatchRun` of its own, at the owner's `at`. Ticks that fired nothing are not logged,
and refused commands are not applied. After every step the two engines must agree on
everything that decides what happens next.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis.stateful import invariant, rule

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError
from onduty.domain.pickers import RoundRobin
from onduty.domain.restore import restore, take_snapshot
from onduty.service.batch_run import BatchRun
from tests.unit.test_engine_state_machine import EngineMachine, snapshot


def whole_state(engine: Engine) -> Any:
    """Everything of the engine that decides what it does next (its internal sequence numbers
    aside), in a form that compares."""
    ws = engine.workspace
    agents = tuple(
        (
            a.name,
            a.username,
            a.set_by,
            a.ever_logged_in,
            a.last_assigned_at,
            a.idle_since,
            a.working_since,
            a.last_input,
            a.idle_deadline,
            # The order threads came in, S6 counting from the first: by when they came. Threads
            # that came at the same instant (a transfer and an assignment in one batch) come
            # back from the database by id, which decides nothing (their S6 clocks are equal).
            _in_order(a.threads, a.unanswered, engine),
            tuple(sorted(a.unanswered.items(), key=lambda item: (item[1], item[0]))),
            a.load,
        )
        for a in sorted(ws.agents.values(), key=lambda a: a.id)
    )
    threads = tuple(
        (t.id, t.client_id, t.created_at, t.priority, t.assigned_at, t.reserve_deadline, t.answered_once, t.pinned)
        for t in sorted(ws.threads.values(), key=lambda t: t.id)
    )
    picker = ws.picker
    return (
        snapshot(engine),
        agents,
        threads,
        tuple(t.id for t in ws.queue.first(len(ws.queue) + 1)),
        len(ws.queue),
        tuple(sorted(ws.open_by_client.items())),
        tuple(sorted(ws.reclaim_pending)),  # requeued together, into an ordered queue
        tuple(sorted(ws.reserving)),
        ws.next_request_id,
        ws.active_count,
        tuple(sorted(ws.agents_on_instance.items())),  # S8: the instances anyone is connected on
        ws.routing(),
        picker.strategy,
        tuple(sorted(picker.eligible)),
        picker.last if isinstance(picker, RoundRobin) else None,
        sorted(ws.affinity.items()),
        engine.next_deadline(),
        tuple(sorted((r.id, r.agent_id, r.state, r.reason, r.created_at) for r in ws.requests.values())),
    )


def _in_order(held: dict[int, None], unanswered: dict[int, float], engine: Engine) -> tuple[int, ...]:
    threads = engine.workspace.threads
    order = list(held)
    assert [threads[t].assigned_at for t in order] == sorted(threads[t].assigned_at or 0.0 for t in order)
    assert list(unanswered.values()) == sorted(unanswered.values())
    return tuple(sorted(order, key=lambda t: (threads[t].assigned_at or 0.0, t)))


class FollowerMachine(EngineMachine):
    def __init__(self) -> None:
        self.follower: Engine | None = None
        super().__init__()

    def replay(self, run: BatchRun) -> None:
        """What the follower does with the batch's log row."""
        if self.follower is None or not run.changed:
            return
        mine = BatchRun(self.follower, run.at, tick=run.tick)
        for command in run.applied:
            mine.handle(command)  # a refusal here is a divergence: the owner applied it

    def apply(self, command: c.Command) -> None:
        before = snapshot(self.engine)
        run = BatchRun(self.engine, self.now, tick=False)
        try:
            events = run.handle(command)
        except DomainError:
            assert snapshot(self.engine) == before, f"refused {command!r} changed the engine"
            return
        self.check_events(events)
        self.replay(run)

    def tick(self) -> None:
        run = BatchRun(self.engine, self.now, tick=True)
        self.check_events(run.tick_events)
        self.replay(run)

    @rule()
    def follower_starts(self) -> None:
        """A follower starts now, from the owner's lasting state."""
        self.follower = restore(take_snapshot(self.engine))

    # The owner's restart without the service's ResetConnections is not what a service does;
    # the follower only ever sees restarts as the service makes them (`service_restarts`).
    def restart(self) -> None:
        raise AssertionError("not a rule here")

    @rule(seconds=EngineMachine.time_passes.hypothesis_stateful_rule.arguments_strategies["seconds"])  # type: ignore[attr-defined]
    def time_passes(self, seconds: float) -> None:
        target = self.now + seconds
        while (deadline := self.engine.next_deadline()) is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.tick()
        self.now = target
        self.tick()  # a writer's pass with nothing due (not logged)

    @rule(seconds=EngineMachine.late_tick.hypothesis_stateful_rule.arguments_strategies["seconds"])  # type: ignore[attr-defined]
    def late_tick(self, seconds: float) -> None:
        self.now += seconds
        self.tick()

    @invariant()
    def the_follower_equals_the_owner(self) -> None:
        if self.follower is not None:
            assert whole_state(self.follower) == whole_state(self.engine)


TestFollowerReplay = FollowerMachine.TestCase
TestFollowerReplay.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
