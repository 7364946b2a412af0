"""R4 own clients, R5 reclaim of unanswered threads, R8 pinned messages."""

from __future__ import annotations

import pytest

from onduty.domain.errors import Forbidden
from onduty.domain.events import MessagePinned, RoutingTrace, ThreadAssigned, ThreadCreated, ThreadRequeued
from onduty.domain.types import Actor, State, ThreadState
from tests.unit.engine_helpers import SUPERVISOR, World, assignments, of


def _owns(w: World, agent_id: int, client_id: str, t: float) -> None:
    """`agent_id` answers and closes a thread of `client_id` at `t`: the client is theirs (R4)."""
    thread = w.client_writes(client_id, t=t)
    if w.holder(thread) != agent_id:
        w.transfer(thread, agent_id, t=t)
    w.answer(thread, t=t)
    w.close(thread, t=t)


def _give_answered_thread(w: World, agent_id: int, t: float) -> None:
    """Make `agent_id` busier: a stranger's thread, transferred to them and answered."""
    thread = w.client_writes(f"stranger{t}", t=t)
    if w.holder(thread) != agent_id:
        w.transfer(thread, agent_id, t=t)
    w.answer(thread, t=t)


def _trace(w: World) -> RoutingTrace:
    (assigned,) = of(ThreadAssigned, w.last)
    return assigned.trace


# -- R4 own clients ----------------------------------------------------------------


def test_r4_a_returning_client_goes_straight_to_their_agent() -> None:
    w = World()
    w.ready(1, 2)
    _owns(w, 1, "c1", t=2)
    _give_answered_thread(w, 1, t=4)  # agent 1 is now the busier one
    thread = w.client_writes("c1", t=10)
    assert w.holder(thread) == 1
    assert _trace(w) == RoutingTrace("affinity", 1, 1, 6)  # only the owner could take it


def test_r4_an_owner_in_active_own_clients_gets_their_clients_thread() -> None:
    w = World()
    w.ready(1, 2)
    _owns(w, 1, "c1", t=2)
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=3)
    thread = w.client_writes("c1", t=10)
    assert w.holder(thread) == 1
    assert _trace(w).strategy == "affinity"


def test_r4_active_own_clients_takes_nothing_from_the_general_queue() -> None:
    w = World()
    w.logged_in(1)
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=0)
    thread = w.client_writes("stranger", t=1)
    assert w.queue() == [thread]
    assert w.held(1) == []


def test_r4_owner_at_capacity_with_no_wait_sends_the_thread_to_the_general_queue() -> None:
    w = World()
    w.ready(1, 2, capacity=1)
    _owns(w, 1, "c1", t=2)
    _give_answered_thread(w, 1, t=3)  # agent 1 full
    thread = w.client_writes("c1", t=10)
    assert w.holder(thread) == 2
    assert _trace(w).strategy == "least_busy"


def test_r4_owner_not_working_with_no_wait_sends_the_thread_to_the_general_queue_at_once() -> None:
    w = World()
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.go_inactive(1, "lunch", t=3)
    thread = w.client_writes("c1", t=10)
    assert of(ThreadCreated, w.last)[0].reserved_for is None
    assert w.queue() == [thread]
    w.ready(2, t=11)
    assert w.holder(thread) == 2


def test_r4_ownership_lasts_client_affinity_timeout_from_the_close() -> None:
    w = World(client_affinity_timeout=100)
    w.ready(1, 2)
    _owns(w, 1, "c1", t=2)
    _give_answered_thread(w, 1, t=3)
    thread = w.client_writes("c1", t=102)
    assert w.holder(thread) == 1


def test_r4_ownership_ends_after_client_affinity_timeout() -> None:
    w = World(client_affinity_timeout=100)
    w.ready(1, 2)
    _owns(w, 1, "c1", t=2)
    _give_answered_thread(w, 1, t=3)
    thread = w.client_writes("c1", t=103)
    assert w.holder(thread) == 2
    assert _trace(w).strategy == "least_busy"


def test_r4_a_thread_closed_unanswered_by_its_holder_ends_the_ownership() -> None:
    w = World()
    w.ready(1, 2)
    _owns(w, 1, "c1", t=2)
    again = w.client_writes("c1", t=3)
    assert w.holder(again) == 1
    w.close(again, t=4)  # not answered
    _give_answered_thread(w, 1, t=5)
    thread = w.client_writes("c1", t=6)
    assert w.holder(thread) == 2
    assert _trace(w).strategy == "least_busy"


def test_r4_a_thread_waiting_for_its_owner_closed_by_a_supervisor_ends_the_ownership() -> None:
    """The reading in docs/rules.md: a thread closed while queued was handled by nobody."""
    w = World(affinity_wait=120)
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.set_status(1, State.NOT_READY, t=3)
    waiting = w.client_writes("c1", t=10)
    assert w.thread(waiting).reserved_for == 1
    w.close(waiting, t=11, by=SUPERVISOR)
    w.ready(2, t=12)
    w.set_status(1, State.ACTIVE, t=13)
    thread = w.client_writes("c1", t=14)  # no longer agent 1's client: the least busy's
    assert w.holder(thread) == 2
    assert _trace(w).strategy == "least_busy"


def test_r4_the_holder_who_answered_at_the_close_owns_the_client() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("c1", t=0)  # agent 1
    w.answer(thread, t=1)
    w.transfer(thread, 2, t=2, by=Actor.agent(1))
    w.answer(thread, t=3)
    w.close(thread, t=4)
    _give_answered_thread(w, 2, t=5)
    again = w.client_writes("c1", t=6)
    assert w.holder(again) == 2
    assert _trace(w).strategy == "affinity"


def test_r4_a_holder_who_never_answered_does_not_own_the_client() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("c1", t=0)  # agent 1
    w.answer(thread, t=1)
    w.transfer(thread, 2, t=2, by=Actor.agent(1))
    w.close(thread, t=3)  # agent 2 closes it without answering
    again = w.client_writes("c1", t=6)
    assert _trace(w).strategy == "least_busy"
    assert w.holder(again) is not None


def test_r4_with_affinity_wait_the_thread_waits_for_its_agent_outside_the_general_queue() -> None:
    w = World(affinity_wait=120)
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.set_status(1, State.NOT_READY, t=3)
    w.ready(2, t=4)
    thread = w.client_writes("c1", t=10)
    assert of(ThreadCreated, w.last) == [ThreadCreated(10, thread, "c1", 0, 1)]
    assert w.thread(thread).state is ThreadState.QUEUED
    assert w.holder(thread) is None
    assert w.queue() == []
    assert w.held(2) == []
    assert w.next_deadline() == 130


def test_r4_a_waiting_thread_goes_to_its_agent_the_moment_they_can_take_it() -> None:
    w = World(affinity_wait=120)
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.set_status(1, State.NOT_READY, t=3)
    w.ready(2, t=4)
    thread = w.client_writes("c1", t=10)
    events = w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=50)
    assert assignments(events) == [(thread, 1)]
    assert _trace(w).strategy == "affinity"
    w.answer(thread, t=51)
    assert w.tick(130) == []


def test_r4_a_waiting_thread_goes_to_its_agent_when_they_have_room_again() -> None:
    w = World(affinity_wait=120)
    w.ready(1, capacity=1)
    _owns(w, 1, "c1", t=2)
    busy = w.client_writes("x", t=3)  # agent 1, full
    w.answer(busy, t=3)
    thread = w.client_writes("c1", t=10)
    assert w.holder(thread) is None
    w.close(busy, t=20)
    assert w.holder(thread) == 1


def test_r4_a_waiting_thread_waits_even_for_an_offline_agent() -> None:
    w = World(affinity_wait=120)
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.logout(1, t=3)
    w.ready(2, t=4)
    thread = w.client_writes("c1", t=10)
    assert w.holder(thread) is None
    w.login(1, 20)  # back to active
    assert w.holder(thread) == 1


def test_r4_when_the_wait_ends_the_thread_joins_the_general_queue() -> None:
    w = World(affinity_wait=120)
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.go_inactive(1, "lunch", t=3)
    w.ready(2, t=4)
    thread = w.client_writes("c1", t=10)
    assert w.tick(129) == []
    events = w.tick(130)
    assert [(e.thread_id, e.agent_id, e.why) for e in of(ThreadRequeued, events)] == [(thread, 1, "affinity_wait_over")]
    assert assignments(events) == [(thread, 2)]


def test_r4_when_the_wait_ends_the_thread_keeps_its_arrival_time() -> None:
    w = World(affinity_wait=120)
    w.ready(1)
    _owns(w, 1, "c1", t=2)
    w.go_inactive(1, "lunch", t=3)
    w.ready(2, t=4, capacity=1)
    busy = w.client_writes("x", t=5)  # agent 2, full
    w.answer(busy, t=5)
    thread = w.client_writes("c1", t=10)
    late = w.client_writes("y", t=60)
    w.tick(130)
    assert w.queue() == [thread, late]
    w.close(busy, t=140)
    assert w.held(2) == [thread]


def test_r4_with_affinity_wait_an_available_owner_gets_the_thread_at_once() -> None:
    w = World(affinity_wait=120)
    w.ready(1, 2)
    _owns(w, 1, "c1", t=2)
    thread = w.client_writes("c1", t=10)
    assert w.holder(thread) == 1
    assert w.next_deadline() == 70  # only the S6 clock


# -- R5 reclaim --------------------------------------------------------------------


def test_r5_reclaims_unanswered_threads_when_agent_leaves_active() -> None:
    w = World()
    w.ready(1)
    answered = w.client_writes("a", t=0)
    waiting = w.client_writes("b", t=1)
    w.answer(answered, t=2)
    w.ready(2, t=3)
    events = w.set_status(1, State.NOT_READY, t=5)
    assert [(e.thread_id, e.agent_id, e.why) for e in of(ThreadRequeued, events)] == [(waiting, 1, "reclaimed")]
    assert assignments(events) == [(waiting, 2)]


def test_r5_threads_in_progress_stay_with_the_agent() -> None:
    w = World()
    w.ready(1)
    answered = w.client_writes("a", t=0)
    w.client_writes("b", t=1)
    w.answer(answered, t=2)
    w.ready(2, t=3)
    w.set_status(1, State.NOT_READY, t=5)
    assert w.held(1) == [answered]
    assert w.thread(answered).state is ThreadState.IN_PROGRESS


def test_r5_leaving_active_own_clients_reclaims_too() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("a", t=0)  # agent 1
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=1)
    assert w.held(1) == [thread]
    events = w.go_inactive(1, "meeting", t=2)
    assert [e.why for e in of(ThreadRequeued, events)] == ["reclaimed"]
    assert w.holder(thread) == 2
    assert w.status(1) == (State.INACTIVE, "meeting")


def test_r5_moving_between_active_and_active_own_clients_reclaims_nothing() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("a", t=0)  # agent 1
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=1)
    w.set_status(1, State.ACTIVE, t=2)
    assert of(ThreadRequeued, w.log) == []
    assert w.holder(thread) == 1


def test_r5_leaving_for_finishing_reclaims_unanswered_threads() -> None:
    w = World()
    w.ready(1)
    answered = w.client_writes("a", t=0)
    waiting = w.client_writes("b", t=1)
    w.answer(answered, t=2)
    w.ready(2, t=3)
    w.go_inactive(1, "lunch", t=4)
    assert w.status(1) == (State.FINISHING, "lunch")
    assert (w.held(1), w.holder(waiting)) == ([answered], 2)


def test_r5_a_reclaimed_thread_keeps_its_arrival_time() -> None:
    w = World()
    w.logged_in(3)
    early = w.client_writes("early", t=0)
    w.transfer(early, 3, t=1)  # held by a not_ready agent
    w.ready(1, t=2)
    later = w.client_writes("later", t=5)  # agent 1
    w.transfer(early, 1, t=6)  # agent 1 got `later` first, then `early`
    w.ready(2, t=7, capacity=1)
    w.set_status(1, State.NOT_READY, t=8)
    assert w.thread(early).created_at == 0
    assert w.held(2) == [early]
    assert w.queue() == [later]


# -- R8 pinned messages ------------------------------------------------------------


def _held_thread(w: World) -> tuple[int, int]:
    """A thread held by agent 1, and its first message."""
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    return thread, w.messages(thread)[0]


def test_r8_the_holder_pins_a_message_and_the_widget_counts_it() -> None:
    w = World()
    thread, message = _held_thread(w)
    events = w.pin(thread, message, t=1)
    assert of(MessagePinned, events) == [MessagePinned(1, thread, message, 1, True)]
    assert w.pinned(1) == 1


def test_r8_pinning_twice_changes_nothing() -> None:
    w = World()
    thread, message = _held_thread(w)
    w.pin(thread, message, t=1)
    assert w.pin(thread, message, t=2) == []
    assert w.pinned(1) == 1


def test_r8_unpinning_lowers_the_count() -> None:
    w = World()
    thread, message = _held_thread(w)
    w.pin(thread, message, t=1)
    events = w.pin(thread, message, t=2, pinned=False)
    assert of(MessagePinned, events) == [MessagePinned(2, thread, message, 1, False)]
    assert w.pinned(1) == 0


def test_r8_the_count_covers_every_thread_held() -> None:
    w = World()
    first, message = _held_thread(w)
    w.answer(first, t=1)
    second = w.client_writes("c2", t=2)
    w.pin(first, message, t=3)
    w.pin(first, w.messages(first)[1], t=3)  # the agent's own answer
    w.pin(second, w.messages(second)[0], t=3)
    assert w.pinned(1) == 3


def test_r8_only_the_holding_agent_pins() -> None:
    w = World()
    thread, message = _held_thread(w)
    w.ready(2)
    with pytest.raises(Forbidden) as refused:
        w.pin(thread, message, t=1, agent_id=2)
    assert refused.value.field == "thread_id"
    assert (w.pinned(1), w.pinned(2)) == (0, 0)


def test_r8_pins_leave_the_count_when_the_thread_closes() -> None:
    w = World()
    thread, message = _held_thread(w)
    w.pin(thread, message, t=1)
    w.close(thread, t=2)
    assert w.pinned(1) == 0


def test_r8_pins_go_with_a_transferred_thread() -> None:
    w = World()
    thread, message = _held_thread(w)
    w.logged_in(2)
    w.pin(thread, message, t=1)
    w.transfer(thread, 2, t=2, by=Actor.agent(1))
    assert (w.pinned(1), w.pinned(2)) == (0, 1)
    assert message in w.thread(thread).pinned


def test_r8_pins_follow_a_requeued_thread_to_its_next_holder() -> None:
    w = World()
    thread, message = _held_thread(w)
    w.pin(thread, message, t=1)
    w.logout(1, t=2)  # requeue
    assert w.pinned(1) == 0
    w.ready(2, t=3)
    assert (w.holder(thread), w.pinned(2)) == (2, 1)
    w.pin(thread, message, t=4, pinned=False)
    assert w.pinned(2) == 0
