"""Routing: R1 the queue, R2 eligibility and strategies, R3 transfer, R6 nobody ready, R7 invariants."""

from __future__ import annotations

import random

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.events import (
    RoutingTrace,
    StatusChanged,
    ThreadAssigned,
    ThreadClosed,
    ThreadCreated,
    ThreadRequeued,
    ThreadTransferred,
)
from onduty.domain.statuses import TAKES_OWN_CLIENTS
from onduty.domain.types import WHY_FINISHING_COMPLETED, Actor, State, ThreadState
from tests.unit.engine_helpers import SUPERVISOR, World, assignments, of, status_changes

# -- R1 the general queue ----------------------------------------------------------


def test_r1_a_new_thread_joins_the_general_queue() -> None:
    w = World()
    events = w.do(c.ReceiveClientMessage("c1", "hello"), 3)
    assert of(ThreadCreated, events) == [ThreadCreated(3, 1, "c1", 0, None)]
    assert w.thread(1).state is ThreadState.QUEUED
    assert w.queue() == [1]


def test_r1_a_client_writing_again_adds_to_their_open_thread() -> None:
    w = World()
    first = w.client_writes("c1", t=0, text="hello")
    again = w.client_writes("c1", t=5, text="anyone?")
    assert again == first
    assert len(w.messages(first)) == 2
    assert w.queue() == [first]


def test_r1_oldest_thread_goes_first() -> None:
    w = World()
    threads = [w.client_writes(f"c{i}", t=10 * i) for i in range(3)]
    w.ready(1, t=30, capacity=1)
    assert w.held(1) == [threads[0]]
    w.close(threads[0], t=31)
    assert w.held(1) == [threads[1]]
    w.close(threads[1], t=32)
    assert w.held(1) == [threads[2]]


def test_r1_priority_goes_before_age() -> None:
    w = World()
    normal = w.client_writes("c1", t=0)
    urgent = w.client_writes("c2", t=10, priority=5)
    low = w.client_writes("c3", t=20, priority=-3)
    urgent_later = w.client_writes("c4", t=30, priority=5)
    assert w.queue() == [urgent, urgent_later, normal, low]
    w.ready(1, t=40, capacity=10)
    assert assignments(w.last) == [(urgent, 1), (urgent_later, 1), (normal, 1), (low, 1)]


def test_r1_equal_priority_and_arrival_go_by_lower_thread_id() -> None:
    w = World()
    first, second = w.client_writes("b", t=5), w.client_writes("a", t=5)
    assert w.queue() == [first, second]


# -- R2 eligibility ----------------------------------------------------------------


def test_r2_only_active_agents_are_picked_by_the_router() -> None:
    w = World()
    w.ready(4)
    held = w.client_writes("c0", t=0)
    w.answer(held, t=0)
    w.go_inactive(4, "lunch", t=0)  # finishing
    w.ready(5, t=1)
    w.client_writes("k", t=1)
    w.tick(61)
    w.tick(91)  # agent 5 kicked out
    w.logged_in(1, t=92)  # not_ready
    w.logged_in(2, t=92)
    w.go_inactive(2, "away", t=92)
    w.logged_in(3, t=92)
    w.set_status(3, State.ACTIVE_OWN_CLIENTS, t=92)
    w.register(6, t=92)  # offline
    states = [w.state(a) for a in range(1, 7)]
    assert states == [
        State.NOT_READY,
        State.INACTIVE,
        State.ACTIVE_OWN_CLIENTS,
        State.FINISHING,
        State.KICKED_OUT,
        State.OFFLINE,
    ]
    kicked = w.queue()
    assert kicked != []  # nobody took the kicked-out thread
    mark = len(w.log)
    w.ready(7, t=100, capacity=10)
    fresh = [w.client_writes(f"n{i}", t=101 + i) for i in range(4)]
    assert assignments(w.log[mark:]) == [(thread, 7) for thread in kicked + fresh]
    assert w.queue() == []
    assert [w.held(a) for a in (1, 2, 3, 5, 6)] == [[], [], [], [], []]


def test_r2_default_capacity_is_three() -> None:
    w = World()
    w.ready(1)
    threads = [w.client_writes(f"c{i}", t=i) for i in range(4)]
    assert w.held(1) == threads[:3]
    assert w.queue() == [threads[3]]


def test_r2_an_agent_has_their_own_capacity() -> None:
    w = World()
    w.ready(1, capacity=1)
    w.ready(2, capacity=5)
    for i in range(6):
        w.client_writes(f"c{i}", t=i)
    assert (len(w.held(1)), len(w.held(2)), len(w.queue())) == (1, 5, 0)


def test_r2_an_agent_at_capacity_is_not_picked_and_others_take_the_share() -> None:
    w = World()
    w.ready(1, capacity=1)
    w.ready(2)
    first, second, third = (w.client_writes(f"c{i}", t=i) for i in range(3))
    assert w.held(1) == [first]
    assert w.held(2) == [second, third]


def test_r2_capacity_lowered_below_the_load_takes_nothing_away_until_under_it() -> None:
    w = World()
    w.ready(1)
    held = [w.client_writes(f"c{i}", t=i) for i in range(3)]
    events = w.do(c.ChangeAgent(1, capacity=1), 10)
    assert of(ThreadRequeued, events) == []
    assert w.held(1) == held
    waiting = w.client_writes("late", t=11)
    assert w.queue() == [waiting]
    w.close(held[0], t=12)
    w.close(held[1], t=13)
    assert w.queue() == [waiting]  # load 1, capacity 1: still not under it
    w.close(held[2], t=14)
    assert w.held(1) == [waiting]


def test_r2_default_capacity_change_applies_to_agents_without_their_own() -> None:
    w = World()
    w.ready(1)
    w.ready(2, capacity=3)
    w.settings(0, default_capacity=1)
    for i in range(5):
        w.client_writes(f"c{i}", t=1 + i)
    assert (len(w.held(1)), len(w.held(2)), len(w.queue())) == (1, 3, 1)
    w.settings(10, default_capacity=2)
    assert (len(w.held(1)), len(w.queue())) == (2, 0)


# -- R2 least_busy (default) -------------------------------------------------------


def test_r2_least_busy_is_the_default_and_picks_the_agent_with_fewest_threads() -> None:
    w = World()
    w.ready(1)
    w.client_writes("a", t=1)
    w.client_writes("b", t=2)  # agent 1: 2 threads
    w.ready(2, t=3)
    w.client_writes("c", t=4)  # agent 2: 1 thread
    fresh = w.client_writes("d", t=5)
    assert w.holder(fresh) == 2
    assert of(ThreadAssigned, w.last)[0].trace.strategy == "least_busy"


def test_r2_least_busy_ties_go_to_the_longest_since_last_assignment() -> None:
    w = World()
    w.ready(2)
    w.client_writes("a", t=5)  # agent 2 at 5
    w.ready(1, t=6)
    w.client_writes("b", t=10)  # agent 1 at 10
    fresh = w.client_writes("c", t=20)
    assert w.holder(fresh) == 2


def test_r2_least_busy_counts_a_transfer_in_as_an_assignment() -> None:
    w = World()
    w.ready(1)
    a = w.client_writes("a", t=5)  # agent 1 at 5
    w.ready(2, t=6)
    w.client_writes("b", t=10)  # agent 2 at 10
    w.ready(3, t=11)
    c3 = w.client_writes("c", t=12)  # agent 3 at 12
    w.transfer(c3, 1, t=15)  # agent 1 at 15
    w.close(a, t=16)
    w.set_status(3, State.NOT_READY, t=16)
    fresh = w.client_writes("d", t=20)  # agents 1 and 2 hold one each; 1 was given work last
    assert w.holder(fresh) == 2


def test_r2_least_busy_full_ties_go_to_the_lower_agent_id() -> None:
    w = World()
    w.ready(3, 2, 1)
    threads = [w.client_writes(f"c{i}", t=1) for i in range(4)]
    assert [w.holder(t) for t in threads] == [1, 2, 3, 1]


# -- R2 longest_idle ---------------------------------------------------------------


def test_r2_longest_idle_picks_the_longest_idle_agent_whatever_their_load() -> None:
    w = World(strategy="longest_idle")
    w.ready(1)
    w.client_writes("a", t=5)
    w.client_writes("b", t=6)  # agent 1: two threads, got work at 6
    w.ready(2, t=10)  # agent 2: free, active since 10
    fresh = w.client_writes("c", t=20)
    assert w.holder(fresh) == 1
    assert of(ThreadAssigned, w.last)[0].trace == RoutingTrace("longest_idle", 2, 2, 14)


def test_r2_longest_idle_counts_released_work() -> None:
    w = World(strategy="longest_idle")
    w.ready(1, 2)
    first = w.client_writes("a", t=5)  # agent 1 (tie at 0: lower id)
    second = w.client_writes("b", t=6)  # agent 2 (idle since 0)
    w.close(second, t=8)  # agent 2 released work at 8
    w.close(first, t=10)  # agent 1 released work at 10
    fresh = w.client_writes("c", t=20)
    assert w.holder(fresh) == 2


def test_r2_longest_idle_counts_becoming_active() -> None:
    w = World(strategy="longest_idle")
    w.ready(1, 2)
    w.client_writes("a", t=5)  # agent 1 (tie at 0: lower id)
    w.set_status(2, State.NOT_READY, t=6)
    w.set_status(2, State.ACTIVE, t=7)  # agent 2 became active at 7
    fresh = w.client_writes("b", t=8)
    assert w.holder(fresh) == 1


# -- R2 round_robin ----------------------------------------------------------------


def test_r2_round_robin_takes_agents_in_id_order() -> None:
    w = World(strategy="round_robin")
    w.ready(3, 1, 2)
    threads = [w.client_writes(f"c{i}", t=i) for i in range(6)]
    assert [w.holder(t) for t in threads] == [1, 2, 3, 1, 2, 3]
    assert {e.trace.strategy for e in of(ThreadAssigned, w.log)} == {"round_robin"}


def test_r2_round_robin_skips_agents_who_are_not_eligible() -> None:
    w = World(strategy="round_robin")
    w.ready(1, 2, 3)
    w.set_status(2, State.NOT_READY, t=1)
    threads = [w.client_writes(f"c{i}", t=2 + i) for i in range(4)]
    assert [w.holder(t) for t in threads] == [1, 3, 1, 3]


def test_r2_round_robin_starts_after_the_last_agent_picked() -> None:
    w = World(strategy="round_robin")
    w.ready(1, 2, 3)
    w.client_writes("a", t=1)  # 1
    w.client_writes("b", t=2)  # 2
    w.ready(4, t=3)
    threads = [w.client_writes(f"c{i}", t=4 + i) for i in range(3)]
    assert [w.holder(t) for t in threads] == [3, 4, 1]


def test_r2_round_robin_ignores_load() -> None:
    w = World(strategy="round_robin")
    w.ready(1, 2)
    threads = [w.client_writes(f"c{i}", t=1 + i) for i in range(3)]
    assert [w.holder(t) for t in threads] == [1, 2, 1]
    w.close(threads[1], t=5)  # agent 2 is free, agent 1 holds two
    fresh = [w.client_writes(f"d{i}", t=6 + i) for i in range(2)]
    assert [w.holder(t) for t in fresh] == [2, 1]  # least_busy would give both to agent 2


def test_r2_changing_the_strategy_takes_effect_for_the_next_pick() -> None:
    w = World()
    w.ready(1)
    w.client_writes("a", t=5)
    w.client_writes("b", t=6)
    w.ready(2, t=10)
    w.settings(15, strategy="longest_idle")
    fresh = w.client_writes("c", t=20)
    assert w.holder(fresh) == 1  # least_busy would have picked agent 2
    assert of(ThreadAssigned, w.last)[0].trace.strategy == "longest_idle"


def test_r2_routing_trace_names_strategy_eligible_count_load_and_idle_seconds() -> None:
    w = World()
    w.ready(1, t=0)
    w.ready(2, t=10)
    w.client_writes("a", t=20)
    w.client_writes("b", t=30)
    assert [(e.thread_id, e.agent_id, e.trace) for e in of(ThreadAssigned, w.log)] == [
        (1, 1, RoutingTrace("least_busy", 2, 0, 20)),
        (2, 2, RoutingTrace("least_busy", 2, 0, 20)),
    ]
    w.client_writes("c", t=35)  # agent 1 again: one thread, got work at 20
    assert of(ThreadAssigned, w.last)[0].trace == RoutingTrace("least_busy", 2, 1, 15)


def test_r2_routing_trace_counts_only_eligible_agents() -> None:
    w = World()
    w.ready(1, 2, 3)
    w.set_status(3, State.NOT_READY, t=1)
    w.ready(4, t=1, capacity=1)
    thread = w.client_writes("a", t=2)  # agent 1
    w.transfer(thread, 4, t=3)  # agent 4 is full now
    w.client_writes("b", t=4)
    assert of(ThreadAssigned, w.last)[0].trace.eligible == 2  # agents 1 and 2


# -- R3 transfer -------------------------------------------------------------------


def test_r3_an_agent_transfers_a_thread_they_hold_to_a_colleague() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("c1", t=0)
    events = w.transfer(thread, 2, t=5, by=Actor.agent(1))
    assert of(ThreadTransferred, events) == [ThreadTransferred(5, thread, 1, 2, Actor.agent(1))]
    assert (w.holder(thread), w.held(1), w.held(2)) == (2, [], [thread])


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (State.OFFLINE, None),
        (State.NOT_READY, None),
        (State.INACTIVE, "away"),
        (State.KICKED_OUT, None),
        (State.ACTIVE_OWN_CLIENTS, None),
    ],
)
def test_r3_transfer_goes_to_an_agent_whatever_their_status(state: State, reason: str | None) -> None:
    w = World()
    w.ready(1)
    w.register(2)
    if state is State.KICKED_OUT:
        w.ready(2, t=0)
        w.client_writes("k", t=0)  # agent 1
        w.transfer(1, 2, t=0)  # agent 2 leaves it unanswered...
        w.tick(60)
        w.tick(90)  # ...and is kicked out; agent 1 gets it back
        w.close(1, t=91)
    elif state is not State.OFFLINE:
        w.login(2, 0)
        if state is not State.NOT_READY:
            w.set_status(2, state, reason, t=0)
    assert w.status(2) == (state, reason)
    thread = w.client_writes("c1", t=100)
    w.transfer(thread, 2, t=101)
    assert w.holder(thread) == 2
    assert w.status(2) == (state, reason)


def test_r3_capacity_does_not_block_a_transfer() -> None:
    w = World()
    w.ready(1)
    w.ready(2, capacity=1)
    w.client_writes("a", t=0)  # agent 1
    w.client_writes("b", t=0)  # agent 2, now full
    thread = w.client_writes("c", t=0)  # agent 1
    w.transfer(thread, 2, t=1)
    assert len(w.held(2)) == 2


def test_r3_a_supervisor_transfers_a_queued_thread() -> None:
    w = World()
    w.logged_in(1)
    thread = w.client_writes("c1", t=0)
    events = w.transfer(thread, 1, t=5)
    assert of(ThreadTransferred, events) == [ThreadTransferred(5, thread, None, 1, SUPERVISOR)]
    assert w.queue() == []
    assert w.holder(thread) == 1
    assert w.thread(thread).state is ThreadState.ASSIGNED


def test_r3_a_transferred_thread_is_assigned_to_its_new_holder_even_if_answered_before() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("c1", t=0)
    w.answer(thread, t=1)
    assert w.thread(thread).state is ThreadState.IN_PROGRESS
    w.transfer(thread, 2, t=2)
    assert w.thread(thread).state is ThreadState.ASSIGNED
    assert list(w.agent(2).unanswered) == [thread]


def test_r3_the_router_never_transfers() -> None:
    w = World(on_logout="requeue")
    w.ready(1, 2, capacity=1)
    threads = [w.client_writes(f"c{i}", t=i) for i in range(4)]
    w.logout(1, t=10)
    w.close(threads[1], t=11)
    w.tick(100)
    w.tick(200)
    assert of(ThreadTransferred, w.log) == []
    assert len(of(ThreadAssigned, w.log)) >= 3


def test_r3_transferring_away_frees_room_the_router_fills() -> None:
    w = World()
    w.ready(1, capacity=1)
    w.logged_in(2)
    first = w.client_writes("a", t=0)
    waiting = w.client_writes("b", t=1)
    w.transfer(first, 2, t=2, by=Actor.agent(1))
    assert w.held(1) == [waiting]


# -- R6 nobody ready ---------------------------------------------------------------


def test_r6_threads_wait_in_the_queue_while_nobody_is_eligible() -> None:
    w = World()
    w.logged_in(1)
    threads = [w.client_writes(f"c{i}", t=i) for i in range(3)]
    assert w.queue() == threads
    assert of(ThreadAssigned, w.log) == []


def test_r6_routing_resumes_the_moment_an_agent_becomes_active() -> None:
    w = World()
    w.logged_in(1)
    threads = [w.client_writes(f"c{i}", t=i) for i in range(2)]
    events = w.set_status(1, State.ACTIVE, t=10)
    assert assignments(events) == [(threads[0], 1), (threads[1], 1)]


def test_r6_routing_resumes_the_moment_an_agent_has_room_again() -> None:
    w = World()
    w.ready(1, capacity=1)
    first = w.client_writes("a", t=0)
    waiting = w.client_writes("b", t=1)
    events = w.close(first, t=2)
    assert assignments(events) == [(waiting, 1)]


def test_r6_routing_resumes_the_moment_capacity_is_raised() -> None:
    w = World()
    w.ready(1, capacity=1)
    w.client_writes("a", t=0)
    waiting = w.client_writes("b", t=1)
    events = w.do(c.ChangeAgent(1, capacity=2), 2)
    assert assignments(events) == [(waiting, 1)]


def test_r6_reclaim_is_deferred_while_nobody_else_is_eligible() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    events = w.set_status(1, State.NOT_READY, t=5)
    assert of(ThreadRequeued, events) == []
    assert w.held(1) == [thread]
    assert w.queue() == []


def test_r6_deferred_reclaim_happens_the_moment_someone_becomes_eligible() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.set_status(1, State.NOT_READY, t=5)
    w.logged_in(2, t=6)
    events = w.set_status(2, State.ACTIVE, t=10)
    assert [(e.thread_id, e.agent_id, e.why) for e in of(ThreadRequeued, events)] == [(thread, 1, "reclaimed")]
    assert assignments(events) == [(thread, 2)]
    assert w.held(1) == []


def test_r6_deferred_reclaim_happens_when_a_full_agent_gets_room() -> None:
    w = World()
    w.ready(2, capacity=1)
    busy = w.client_writes("a", t=0)  # agent 2, full
    w.ready(1, t=1)
    thread = w.client_writes("b", t=1)  # agent 1
    w.set_status(1, State.NOT_READY, t=2)  # nobody else eligible: deferred
    assert w.held(1) == [thread]
    w.close(busy, t=3)
    assert w.holder(thread) == 2


def test_r6_deferred_reclaim_keeps_the_arrival_time() -> None:
    w = World()
    w.ready(1, capacity=1)
    early = w.client_writes("a", t=0)  # agent 1
    w.set_status(1, State.NOT_READY, t=5)  # deferred
    late = w.client_writes("b", t=10)
    w.ready(2, t=20, capacity=1)
    assert w.held(2) == [early]
    assert w.queue() == [late]


def test_r6_deferred_reclaim_is_dropped_when_the_agent_answers() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.set_status(1, State.NOT_READY, t=5)
    w.answer(thread, t=6)
    w.ready(2, t=10)
    assert w.held(1) == [thread]
    assert of(ThreadRequeued, w.log) == []


def test_r6_deferred_reclaim_is_dropped_when_the_agent_comes_back_active() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.set_status(1, State.NOT_READY, t=5)
    w.set_status(1, State.ACTIVE, t=6)
    w.ready(2, t=10)
    w.set_status(1, State.NOT_READY, t=11)  # someone else eligible now: reclaimed at once, not earlier
    assert [(e.at, e.why) for e in of(ThreadRequeued, w.log)] == [(11, "reclaimed")]
    assert w.holder(thread) == 2


def test_r6_deferred_reclaim_completes_finishing() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.go_inactive(1, "lunch", t=5)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.logged_in(2, t=6)
    events = w.set_status(2, State.ACTIVE, t=10)
    assert w.holder(thread) == 2
    assert status_changes(events, 1) == [
        StatusChanged(10, 1, State.FINISHING, "lunch", State.INACTIVE, "lunch", Actor.system(WHY_FINISHING_COMPLETED))
    ]


# -- R7 invariants -----------------------------------------------------------------


def test_r7_the_router_runs_at_the_end_of_a_settings_change() -> None:
    w = World(default_capacity=1)
    w.ready(1)
    w.client_writes("a", t=0)
    waiting = w.client_writes("b", t=1)
    events = w.settings(2, default_capacity=2)
    assert assignments(events) == [(waiting, 1)]


def test_r7_the_router_runs_at_the_end_of_a_tick() -> None:
    w = World(affinity_wait=30)
    w.ready(1, 2)
    thread = w.client_writes("c1", t=0)  # agent 1
    w.answer(thread, t=1)
    w.close(thread, t=2)  # c1 is agent 1's client
    w.set_status(1, State.NOT_READY, t=3)
    waiting = w.client_writes("c1", t=4)  # waits for agent 1 until 34
    assert w.holder(waiting) is None
    events = w.tick(34)
    assert assignments(events) == [(waiting, 2)]


def _check_invariants(w: World, created: dict[int, float], closed: set[int]) -> None:
    ws = w.ws
    holders: dict[int, int] = {}
    for agent in ws.agents.values():
        for thread_id in agent.threads:
            assert thread_id not in holders, f"thread {thread_id} held by {holders[thread_id]} and {agent.id}"
            holders[thread_id] = agent.id
    queued = set(w.queue())
    assert len(queued) == len(ws.queue)
    for thread in ws.threads.values():
        if thread.state is ThreadState.QUEUED:
            assert thread.agent_id is None
            assert (thread.id in queued) != (thread.reserved_for is not None)
        else:
            assert thread.state in (ThreadState.ASSIGNED, ThreadState.IN_PROGRESS)
            assert thread.agent_id is not None
            assert holders.get(thread.id) == thread.agent_id
            assert thread.id not in queued
        assert thread.created_at == created[thread.id], "a requeued thread keeps its arrival time"
    assert set(holders) <= set(ws.threads)
    assert set(ws.threads) == set(created) - closed, "a thread was lost"
    if queued:
        room = [a.id for a in ws.agents.values() if a.state is State.ACTIVE and a.load < ws.capacity_of(a)]
        assert room == [], f"threads {sorted(queued)} wait while agents {room} have room"


def _random_run(seed: int, steps: int = 400) -> None:
    rng = random.Random(seed)
    strategy = rng.choice(["least_busy", "longest_idle", "round_robin"])
    w = World(strategy=strategy, on_logout=rng.choice(["requeue", "keep"]), affinity_wait=rng.choice([0, 30]))
    agents = list(range(1, 6))
    w.register(*agents, t=0, capacity=None)
    created: dict[int, float] = {}
    closed: set[int] = set()
    t = 0.0
    for _ in range(steps):
        t += rng.choice([0, 1, 5, 20])
        deadline = w.next_deadline()
        if deadline is not None and deadline <= t:
            w.tick(t)
        agent = rng.choice(agents)
        open_threads = sorted(w.ws.threads)
        roll = rng.random()
        try:
            if roll < 0.3:
                w.client_writes(f"client{rng.randrange(12)}", t=t, priority=rng.choice([0, 0, 0, 5]))
            elif roll < 0.45 and open_threads:
                thread = rng.choice(open_threads)
                if w.holder(thread) is not None:
                    w.answer(thread, t=t)
            elif roll < 0.6 and open_threads:
                w.close(rng.choice(open_threads), t=t)
            elif roll < 0.67 and open_threads:
                w.transfer(rng.choice(open_threads), agent, t=t)
            elif roll < 0.85:
                state = rng.choice([State.ACTIVE, State.ACTIVE, State.ACTIVE_OWN_CLIENTS, State.NOT_READY])
                by = SUPERVISOR if rng.random() < 0.3 else None
                if state in TAKES_OWN_CLIENTS or rng.random() < 0.5:
                    w.set_status(agent, state, t=t, by=by)
                else:
                    w.go_inactive(agent, rng.choice(["lunch", "meeting"]), t=t, by=by)
            elif roll < 0.9:
                w.logout(agent, t=t)
            elif roll < 0.95:
                w.login(agent, t)
            elif roll < 0.97:
                w.do(c.ChangeAgent(agent, capacity=rng.randint(1, 4)), t)
            elif roll < 0.98:
                w.settings(t, strategy=rng.choice(["least_busy", "longest_idle", "round_robin"]))
            else:
                w.continue_working(agent, t)
        except DomainError:
            pass
        created |= {e.thread_id: e.at for e in of(ThreadCreated, w.last)}
        closed |= {e.thread_id for e in of(ThreadClosed, w.last)}
        _check_invariants(w, created, closed)


@pytest.mark.parametrize("seed", range(25))
def test_r7_no_thread_is_held_twice_lost_or_left_queued_beside_room(seed: int) -> None:
    _random_run(seed)
