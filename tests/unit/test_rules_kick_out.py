"""S6: "continue working?" after response_timeout, kicked out after prompt_timeout.

Defaults: response_timeout 60 s, prompt_timeout 30 s.
"""

from __future__ import annotations

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import Conflict
from onduty.domain.events import AgentPrompted, ApprovalRequested, PromptCleared, StatusChanged, ThreadRequeued
from onduty.domain.types import WHY_KICKED_OUT, Actor, State, ThreadState
from tests.unit.engine_helpers import SUPERVISOR, World, assignments, of, status_changes


def _prompted(w: World) -> list[tuple[int, float, float]]:
    """(agent, at, deadline) of every prompt so far."""
    return [(e.agent_id, e.at, e.deadline) for e in of(AgentPrompted, w.log)]


def _kicked(w: World) -> list[tuple[int, float]]:
    return [(e.agent_id, e.at) for e in status_changes(w.log) if e.to_state is State.KICKED_OUT]


def test_s6_prompted_response_timeout_after_the_assignment() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=10)
    assert w.next_deadline() == 70
    assert w.tick(69) == []
    events = w.tick(70)
    assert of(AgentPrompted, events) == [AgentPrompted(70, 1, 100)]
    assert w.state(1) is State.ACTIVE
    assert w.next_deadline() == 100


def test_s6_kicked_out_when_the_prompt_is_not_confirmed_in_time() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=10)
    w.tick(70)
    assert w.tick(99) == []
    events = w.tick(100)
    assert status_changes(events) == [
        StatusChanged(100, 1, State.ACTIVE, None, State.KICKED_OUT, None, Actor.system(WHY_KICKED_OUT))
    ]
    assert w.next_deadline() is None


def test_s6_clock_runs_from_the_oldest_unanswered_thread() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.client_writes("c2", t=30)
    assert w.next_deadline() == 60
    w.tick(60)
    assert _prompted(w) == [(1, 60, 90)]


def test_s6_an_answered_thread_never_prompts() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.answer(thread, t=59)
    assert w.next_deadline() is None
    assert w.tick(10_000) == []
    assert w.state(1) is State.ACTIVE


def test_s6_answering_the_oldest_moves_the_clock_to_the_next_unanswered_thread() -> None:
    w = World()
    w.ready(1)
    first = w.client_writes("c1", t=0)
    w.client_writes("c2", t=30)
    w.answer(first, t=40)
    assert w.next_deadline() == 90


def test_s6_confirming_withdraws_the_prompt_and_restarts_the_clock() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    events = w.continue_working(1, t=75)
    assert of(PromptCleared, events) == [PromptCleared(75, 1, "continued")]
    assert w.next_deadline() == 135
    assert w.tick(90) == []  # the old prompt deadline
    assert w.state(1) is State.ACTIVE
    w.tick(135)
    assert _prompted(w) == [(1, 60, 90), (1, 135, 165)]


def test_s6_answering_any_thread_withdraws_the_prompt() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    second = w.client_writes("c2", t=10)
    w.tick(60)
    events = w.answer(second, t=70)
    assert of(PromptCleared, events) == [PromptCleared(70, 1, "answered")]
    w.tick(90)
    assert _kicked(w) == []
    assert w.next_deadline() == 130  # the clock restarts from the answer for what is still unanswered


def test_s6_changing_own_status_withdraws_the_prompt() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    events = w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=70)
    assert of(PromptCleared, events) == [PromptCleared(70, 1, "status_changed")]
    w.tick(90)
    assert _kicked(w) == []


def test_s6_leaving_the_working_states_withdraws_the_prompt() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    events = w.set_status(1, State.NOT_READY, t=70, by=SUPERVISOR)
    assert [e.agent_id for e in of(PromptCleared, events)] == [1]
    assert w.tick(90) == []
    assert w.state(1) is State.NOT_READY


def test_s6_thread_closing_while_prompted_withdraws_the_prompt_and_nobody_is_kicked_out() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.tick(60)
    events = w.close(thread, t=70, by=SUPERVISOR)
    assert of(PromptCleared, events) == [PromptCleared(70, 1, "no_unanswered_threads")]
    assert w.next_deadline() is None
    assert w.tick(90) == []
    assert w.state(1) is State.ACTIVE


def test_s6_thread_transferred_away_while_prompted_withdraws_the_prompt() -> None:
    w = World()
    w.ready(1)
    w.logged_in(2)
    thread = w.client_writes("c1", t=0)
    w.tick(60)
    events = w.transfer(thread, 2, t=70)
    assert of(PromptCleared, events) == [PromptCleared(70, 1, "no_unanswered_threads")]
    w.tick(90)
    assert w.state(1) is State.ACTIVE


def test_s6_prompt_stays_while_an_unanswered_thread_remains() -> None:
    w = World()
    w.ready(1)
    first = w.client_writes("c1", t=0)
    w.client_writes("c2", t=5)
    w.tick(60)
    assert of(PromptCleared, w.close(first, t=70, by=SUPERVISOR)) == []
    w.tick(90)
    assert _kicked(w) == [(1, 90)]


def test_s6_clock_counts_from_entering_the_working_states_when_later_than_the_assignment() -> None:
    w = World()
    w.logged_in(1)
    thread = w.client_writes("c1", t=0)
    w.transfer(thread, 1, t=0)  # held while not_ready: no clock
    assert w.next_deadline() is None
    w.set_status(1, State.ACTIVE, t=100)
    assert w.next_deadline() == 160
    w.tick(120)
    assert _prompted(w) == []
    w.tick(160)
    assert _prompted(w) == [(1, 160, 190)]


def test_s6_moving_within_the_working_states_does_not_restart_the_clock() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=30)
    assert w.next_deadline() == 60
    w.set_status(1, State.ACTIVE, t=40)
    assert w.next_deadline() == 60


def test_s6_going_finishing_does_not_restart_the_clock() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.go_inactive(1, "lunch", t=30)  # nobody else eligible: the thread stays (R6)
    assert w.status(1) == (State.FINISHING, "lunch")
    assert w.next_deadline() == 60


def test_s6_agents_outside_the_working_states_are_not_watched() -> None:
    w = World()
    w.logged_in(1)
    w.register(2)
    first, second = w.client_writes("c1", t=0), w.client_writes("c2", t=0)
    w.transfer(first, 1, t=0)  # not_ready
    w.transfer(second, 2, t=0)  # offline
    assert w.next_deadline() is None
    assert w.tick(10_000) == []


def test_s6_a_finishing_agent_is_watched_and_kicked_out() -> None:
    w = World()
    w.ready(1, 2)
    own = w.client_writes("c1", t=0)  # agent 1
    w.answer(own, t=1)
    w.go_inactive(1, "lunch", t=2)
    other = w.client_writes("c2", t=3)  # agent 2
    w.answer(other, t=4)
    w.transfer(other, 1, t=10)
    assert w.next_deadline() == 70
    w.tick(70)
    w.tick(100)
    assert status_changes(w.last) == [
        StatusChanged(100, 1, State.FINISHING, "lunch", State.KICKED_OUT, None, Actor.system(WHY_KICKED_OUT))
    ]


def test_s6_a_transferred_thread_is_unanswered_by_its_new_holder() -> None:
    w = World()
    w.ready(1, 2)
    thread = w.client_writes("c1", t=0)  # agent 1
    w.answer(thread, t=5)
    w.transfer(thread, 2, t=20, by=Actor.agent(1))
    assert w.thread(thread).state is ThreadState.ASSIGNED
    assert w.next_deadline() == 80
    w.tick(80)
    assert _prompted(w) == [(2, 80, 110)]


def test_s6_active_own_clients_is_watched() -> None:
    w = World()
    w.logged_in(1)
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=0)
    thread = w.client_writes("c1", t=0)
    w.transfer(thread, 1, t=10)
    w.tick(70)
    assert _prompted(w) == [(1, 70, 100)]


def test_s6_kick_out_requeues_every_held_thread_answered_or_not() -> None:
    w = World()
    w.ready(1)
    answered = w.client_writes("c1", t=0)
    waiting = w.client_writes("c2", t=1)
    w.answer(answered, t=2)
    w.tick(61)
    events = w.tick(91)
    assert sorted((e.thread_id, e.agent_id, e.why) for e in of(ThreadRequeued, events)) == [
        (answered, 1, "kicked_out"),
        (waiting, 1, "kicked_out"),
    ]
    assert w.held(1) == []
    assert w.queue() == [answered, waiting]


def test_s6_kicked_out_threads_go_back_ahead_of_later_arrivals() -> None:
    w = World()
    w.ready(1, capacity=1)
    early = w.client_writes("c1", t=0)  # agent 1
    late = w.client_writes("c2", t=10)  # queued: agent 1 is full
    w.tick(60)
    w.tick(90)
    assert w.queue() == [early, late]
    assert w.thread(early).created_at == 0
    w.ready(2, t=95, capacity=1)
    assert w.holder(early) == 2
    assert w.queue() == [late]


def test_s6_kicked_out_threads_go_to_an_eligible_agent_in_the_same_tick() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    w.ready(2, capacity=1)
    w.client_writes("c2", t=0)  # agent 2 full
    w.close(w.held(2)[0], t=50)
    w.tick(60)
    events = w.tick(90)
    assert assignments(events) == [(thread, 2)]


def test_s6_kicked_out_agent_gets_nothing_new_until_choosing_another_status() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    w.tick(90)
    first = w.queue()[0]
    fresh = w.client_writes("c2", t=100)
    assert w.held(1) == []
    assert w.queue() == [first, fresh]
    w.set_status(1, State.ACTIVE, t=110)
    assert w.held(1) == [first, fresh]


def test_s6_overdue_response_deadline_prompts_with_the_full_prompt_timeout() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    events = w.tick(500)  # the service was down from 10 to 500
    assert of(AgentPrompted, events) == [AgentPrompted(500, 1, 530)]
    assert w.state(1) is State.ACTIVE


def test_s6_overdue_prompt_deadline_kicks_out_when_the_service_is_back() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    events = w.tick(400)
    assert [(e.at, e.to_state) for e in status_changes(events)] == [(400, State.KICKED_OUT)]


def test_s6_a_pending_approval_request_survives_a_kick_out() -> None:
    w = World()
    w.add_reason("exam", "Exam", requires_approval=True)
    w.ready(1)
    w.client_writes("c1", t=0)
    events = w.go_inactive(1, "exam", t=10)
    assert len(of(ApprovalRequested, events)) == 1
    w.tick(60)
    w.tick(90)
    assert w.state(1) is State.KICKED_OUT
    assert w.agent(1).pending_request == 1
    w.do(c.DecideApproval(1, True, SUPERVISOR), 100)
    assert w.status(1) == (State.INACTIVE, "exam")


def test_s6_response_timeout_change_moves_running_deadlines_at_once() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.settings(5, response_timeout=20)
    assert w.next_deadline() == 20
    w.tick(20)
    assert _prompted(w) == [(1, 20, 50)]


def test_s6_response_timeout_lowered_below_the_time_elapsed_prompts_at_once() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.settings(30, response_timeout=10)  # the deadline is now 10, already past
    w.tick(30)
    assert _prompted(w) == [(1, 30, 60)]


def test_s6_prompt_timeout_change_applies_to_later_prompts_only() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)  # prompt deadline 90
    w.settings(70, prompt_timeout=5)
    assert w.tick(80) == []
    assert w.state(1) is State.ACTIVE
    w.continue_working(1, t=85)
    w.tick(145)
    assert _prompted(w) == [(1, 60, 90), (1, 145, 150)]


def test_s6_continue_without_a_prompt_is_refused() -> None:
    w = World()
    w.ready(1)
    with pytest.raises(Conflict) as refused:
        w.continue_working(1, t=1)
    assert refused.value.field == "agent_id"
    assert refused.value.code == "not_prompted"


def test_s6_kicked_out_agent_returning_to_active_gets_a_fresh_clock() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    w.tick(90)
    w.set_status(1, State.ACTIVE, t=200)  # takes back the requeued thread
    assert w.next_deadline() == 260
