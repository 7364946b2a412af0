"""S8: connected or not. The disconnect grace, the return within return_window, idle_timeout.

Defaults: disconnect_grace 60 s, return_window 8 h, idle_timeout off, on_disconnect
inactive with reason `away`. The service counts an agent's event streams and sends
Connect on the first and Disconnect on the last; at start it sends ResetConnections.
"""

from __future__ import annotations

from typing import Any

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.events import (
    AgentConnected,
    AgentDisconnected,
    AgentPrompted,
    ApprovalCancelled,
    ApprovalRequested,
    PromptCleared,
    SettingsChanged,
    StatusChanged,
    ThreadRequeued,
)
from onduty.domain.restore import restore, take_snapshot
from onduty.domain.types import (
    WHY_DISCONNECTED,
    WHY_FINISHING_COMPLETED,
    WHY_IDLE,
    WHY_KICKED_OUT,
    WHY_RECONNECTED,
    Actor,
    State,
)
from tests.unit.engine_helpers import SUPERVISOR, World, assignments, of, snapshot, status_changes

GRACE = 60.0
WINDOW = 8 * 3600.0
DISCONNECTED = Actor.system(WHY_DISCONNECTED)
IDLE = Actor.system(WHY_IDLE)
RECONNECTED = Actor.system(WHY_RECONNECTED)
OFFLINE_ON_DISCONNECT = {"state": "offline"}


def _moves(w: World, agent_id: int = 1) -> list[tuple[float, State, str | None, str | None]]:
    """(at, to state, to reason, why) of the system's S8 changes of one agent so far."""
    s8 = (WHY_DISCONNECTED, WHY_IDLE, WHY_RECONNECTED)
    return [
        (e.at, e.to_state, e.to_reason, e.actor.why)
        for e in status_changes(w.log, agent_id)
        if e.actor.kind == "system" and e.actor.why in s8
    ]


def _away_at_70() -> World:
    """Agent 1 active with a page open from 0, closed at 10: inactive:away at 70."""
    w = World()
    w.present(1)
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.status(1) == (State.INACTIVE, "away")
    return w


# -- the grace -----------------------------------------------------------------------


def test_s8_connect_and_disconnect_are_announced_with_the_grace_deadline() -> None:
    w = World()
    w.ready(1)
    assert of(AgentConnected, w.connect(1, t=0)) == [AgentConnected(0, 1)]
    assert w.agent(1).connected
    assert w.connect(1, t=1) == []  # already connected: nothing new
    assert of(AgentDisconnected, w.disconnect(1, t=10)) == [AgentDisconnected(10, 1, 10 + GRACE)]
    assert w.disconnect(1, t=11) == []  # not connected: nothing to say
    assert w.next_deadline() == 10 + GRACE


def test_s8_disconnect_grace_moves_the_agent_to_inactive_away_set_by_the_system() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=10)
    assert w.tick(69) == []
    events = w.tick(70)
    assert status_changes(events) == [StatusChanged(70, 1, State.ACTIVE, None, State.INACTIVE, "away", DISCONNECTED)]
    assert w.next_deadline() is None
    assert w.tick(10_000) == []


def test_s8_a_reconnect_within_the_grace_records_nothing() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=10)
    events = w.connect(1, t=69)
    assert events == [AgentConnected(69, 1)]
    assert w.next_deadline() is None
    assert w.tick(10_000) == []
    assert status_changes(w.log[-2:]) == []
    assert w.state(1) is State.ACTIVE
    assert _moves(w) == []


def test_s8_the_grace_counts_from_the_last_disconnect() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=10)
    w.connect(1, t=20)
    w.disconnect(1, t=30)
    assert w.next_deadline() == 30 + GRACE
    w.tick(89)
    assert w.state(1) is State.ACTIVE
    w.tick(90)
    assert _moves(w) == [(90, State.INACTIVE, "away", WHY_DISCONNECTED)]


def test_s8_r6_the_only_active_agent_moved_away_halts_routing() -> None:
    """R6 and W5: the only active agent moved away leaves nobody to route to."""
    w = World()
    w.present(1)
    assert w.ws.routing() == "flowing"
    w.disconnect(1, t=0)
    w.tick(GRACE)
    assert w.ws.routing() == "halted"
    assert w.ws.active_count == 0
    thread = w.client_writes("c1", t=100)
    assert w.queue() == [thread]


@pytest.mark.parametrize(
    ("state", "reason"),
    [(State.NOT_READY, None), (State.ACTIVE, None), (State.ACTIVE_OWN_CLIENTS, None)],
)
def test_s8_those_who_could_be_given_work_are_moved(state: State, reason: str | None) -> None:
    w = World()
    w.present(1)
    w.set_status(1, state, reason, t=0)
    w.disconnect(1, t=0)
    w.tick(GRACE)
    assert w.status(1) == (State.INACTIVE, "away")
    w.connect(1, t=100)
    assert w.status(1) == (state, reason)
    assert _moves(w) == [(GRACE, State.INACTIVE, "away", WHY_DISCONNECTED), (100, state, reason, WHY_RECONNECTED)]


def test_s8_an_agent_on_a_break_keeps_the_status_that_says_why() -> None:
    w = World()
    w.present(1)
    w.go_inactive(1, "lunch", t=0)
    events = w.disconnect(1, t=0)
    assert of(AgentDisconnected, events) == [AgentDisconnected(0, 1, None)]
    assert w.next_deadline() is None
    w.tick(10_000)
    assert w.status(1) == (State.INACTIVE, "lunch")


def test_s8_a_finishing_agent_is_not_moved_and_arrives_in_their_own_reason() -> None:
    w = World()
    w.present(1)
    thread = w.client_writes("c1", t=0)
    w.answer(thread, t=1)
    w.go_inactive(1, "lunch", t=2)
    w.disconnect(1, t=3)
    w.tick(1000)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.close(thread, t=1001, by=SUPERVISOR)
    assert w.status(1) == (State.INACTIVE, "lunch")
    assert _moves(w) == []


def test_s8_a_kicked_out_agent_is_not_moved_to_away() -> None:
    w = World()
    w.present(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    w.tick(90)
    assert w.state(1) is State.KICKED_OUT
    w.disconnect(1, t=100)
    assert w.next_deadline() is None
    w.tick(10_000)
    assert w.state(1) is State.KICKED_OUT


def test_s8_an_offline_agent_is_never_moved() -> None:
    w = World()
    w.present(1)
    w.logout(1, t=5)
    assert of(AgentDisconnected, w.disconnect(1, t=10)) == [AgentDisconnected(10, 1, None)]
    assert w.next_deadline() is None


def test_s8_a_custom_on_disconnect_reason() -> None:
    w = World()
    w.add_reason("gone", "Not at the desk")
    w.settings(0, on_disconnect={"state": "inactive", "reason": "gone"})
    w.present(1)
    w.disconnect(1, t=0)
    w.tick(GRACE)
    assert w.status(1) == (State.INACTIVE, "gone")


# -- who is watched ------------------------------------------------------------------


def test_s8_an_agent_who_never_connects_is_never_moved() -> None:
    """A program driving the API alone."""
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.answer(w.held(1)[0], t=1)
    assert w.disconnect(1, t=2) == []
    w.do(c.ResetConnections(), 3)
    assert w.next_deadline() is None
    w.tick(WINDOW * 3)
    assert w.state(1) is State.ACTIVE
    assert _moves(w) == []


def test_s8_an_agent_connected_before_login_but_not_since_is_not_moved() -> None:
    w = World()
    w.register(1)
    w.connect(1, t=0)
    w.disconnect(1, t=5)
    w.login(1, 10)
    w.set_status(1, State.ACTIVE, t=10)
    assert not w.agent(1).stream_seen
    assert w.next_deadline() is None
    w.tick(10_000)
    assert w.state(1) is State.ACTIVE


def test_s8_an_agent_connected_at_login_is_watched() -> None:
    w = World()
    w.register(1)
    w.connect(1, t=0)
    w.login(1, 10)
    w.set_status(1, State.ACTIVE, t=10)
    w.disconnect(1, t=20)
    assert w.next_deadline() == 20 + GRACE


def test_s8_an_agent_who_connects_after_login_is_watched() -> None:
    w = World()
    w.ready(1)
    w.connect(1, t=10)
    w.disconnect(1, t=20)
    w.tick(80)
    assert w.status(1) == (State.INACTIVE, "away")


def test_s8_a_connection_in_an_earlier_session_does_not_count_after_a_new_login() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=10)
    w.logout(1, t=20)
    w.login(1, 1000)  # through the API, no page open
    assert w.next_deadline() is None
    w.tick(WINDOW)
    assert w.state(1) is State.ACTIVE


def test_s8_s2_a_status_set_while_offline_is_a_login_and_a_stream_of_before_does_not_count() -> None:
    """S2: an offline agent setting a status is logged in into it; like any login, S8 then
    watches them only once they connect again."""
    w = World()
    w.present(1)
    w.disconnect(1, t=10)
    w.logout(1, t=20)
    w.set_status(1, State.ACTIVE, t=1000)  # a program, no page open
    assert not w.agent(1).stream_seen
    assert w.next_deadline() is None
    w.tick(WINDOW)
    assert w.state(1) is State.ACTIVE
    w.connect(1, t=WINDOW + 1)
    w.disconnect(1, t=WINDOW + 2)
    assert w.next_deadline() == WINDOW + 2 + GRACE


# -- the return ----------------------------------------------------------------------


def test_s8_a_return_within_return_window_brings_back_the_status_before() -> None:
    w = _away_at_70()
    events = w.connect(1, t=70 + WINDOW)
    assert events[0] == AgentConnected(70 + WINDOW, 1)
    assert status_changes(events) == [
        StatusChanged(70 + WINDOW, 1, State.INACTIVE, "away", State.ACTIVE, None, RECONNECTED)
    ]
    thread = w.client_writes("c1", t=70 + WINDOW)
    assert w.holder(thread) == 1


def test_s8_a_return_after_return_window_brings_back_nothing() -> None:
    w = _away_at_70()
    events = w.connect(1, t=70 + WINDOW + 1)
    assert status_changes(events) == []
    assert w.status(1) == (State.INACTIVE, "away")
    assert w.agent(1).away_from is None
    # and a later reconnect within a new window has nothing to give back either
    w.disconnect(1, t=70 + WINDOW + 2)
    w.connect(1, t=70 + WINDOW + 3)
    assert w.status(1) == (State.INACTIVE, "away")


def test_s8_return_window_zero_never_brings_anything_back() -> None:
    w = _away_at_70()
    w.settings(71, return_window=0)
    assert status_changes(w.connect(1, t=72)) == []
    assert w.status(1) == (State.INACTIVE, "away")


def test_s8_the_return_window_in_force_at_the_return_counts() -> None:
    w = _away_at_70()
    w.settings(71, return_window=3600)
    w.connect(1, t=70 + 3601)
    assert w.status(1) == (State.INACTIVE, "away")


def test_s8_after_a_return_the_rule_watches_again() -> None:
    w = _away_at_70()
    w.connect(1, t=100)
    w.disconnect(1, t=200)
    w.tick(260)
    w.connect(1, t=300)
    assert _moves(w) == [
        (70, State.INACTIVE, "away", WHY_DISCONNECTED),
        (100, State.ACTIVE, None, WHY_RECONNECTED),
        (260, State.INACTIVE, "away", WHY_DISCONNECTED),
        (300, State.ACTIVE, None, WHY_RECONNECTED),
    ]


def _exam_world() -> World:
    w = World()
    w.add_reason("exam", "Exam", requires_approval=True)
    return w


def _change_by_the_agent(w: World) -> None:
    w.go_inactive(1, "short_break", t=100)  # from a program, or another device without a stream


def _change_by_a_supervisor(w: World) -> None:
    w.go_inactive(1, "lunch", t=100, by=SUPERVISOR)


def _change_by_an_approval(w: World) -> None:
    w.do(c.DecideApproval(1, True, SUPERVISOR), 100)


def _change_by_a_login(w: World) -> None:
    w.logout(1, t=100)
    w.login(1, 101)


@pytest.mark.parametrize(
    ("change", "after"),
    [
        (_change_by_the_agent, (State.INACTIVE, "short_break")),
        (_change_by_a_supervisor, (State.INACTIVE, "lunch")),
        (_change_by_an_approval, (State.INACTIVE, "exam")),
        (_change_by_a_login, (State.INACTIVE, "away")),  # S5: back to the status before the logout
    ],
)
def test_s8_no_return_when_somebody_changed_the_status_meanwhile(change: Any, after: tuple[State, Any]) -> None:
    w = _exam_world()
    w.present(1)
    w.go_inactive(1, "exam", t=1)  # S4: a request, still pending when they leave
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.status(1) == (State.INACTIVE, "away")
    change(w)
    assert w.status(1) == after
    assert w.agent(1).away_from is None
    events = w.connect(1, t=200)
    assert status_changes(events) == []
    assert w.status(1) == after


def test_s8_s6_no_return_after_a_kick_out_while_away() -> None:
    """Nobody else eligible (R6): moved to finishing:away with the reclaim deferred, the S6
    clock still runs for the thread they did not answer, and the kick-out is the last word."""
    w = World()
    w.present(1)
    answered = w.client_writes("c1", t=0)
    w.answer(answered, t=1)
    w.disconnect(1, t=3)
    w.client_writes("c2", t=10)  # S6: prompted at 70 unless answered
    w.tick(63)
    assert w.status(1) == (State.FINISHING, "away")
    assert of(AgentPrompted, w.tick(70)) == [AgentPrompted(70, 1, 100)]
    w.tick(100)
    assert w.state(1) is State.KICKED_OUT
    w.connect(1, t=200)
    assert w.state(1) is State.KICKED_OUT
    assert _moves(w) == [(63, State.FINISHING, "away", WHY_DISCONNECTED)]


def test_s8_the_return_restores_a_retired_reason_as_not_ready() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.go_inactive(1, "lunch", t=0)
    w.disconnect(1, t=0)
    w.tick(GRACE)
    assert w.state(1) is State.OFFLINE
    w.do(c.RetireReason("lunch"), 100)
    w.connect(1, t=200)
    assert w.status(1) == (State.NOT_READY, None)


def test_s8_the_return_of_a_kicked_out_agent_logged_out_by_the_rule_gives_not_ready() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    w.tick(90)
    assert w.state(1) is State.KICKED_OUT
    w.disconnect(1, t=100)
    w.tick(160)
    assert w.state(1) is State.OFFLINE
    w.connect(1, t=200)
    assert w.status(1) == (State.NOT_READY, None)


# -- on_disconnect offline: a logout by the system (S5) --------------------------------


def test_s8_s5_on_disconnect_offline_logs_out_and_requeues_by_default() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    answered = w.client_writes("c1", t=0)
    waiting = w.client_writes("c2", t=1)
    w.answer(answered, t=2)
    w.ready(2, t=3)
    w.disconnect(1, t=10)
    events = w.tick(70)
    assert status_changes(events, 1) == [StatusChanged(70, 1, State.ACTIVE, None, State.OFFLINE, None, DISCONNECTED)]
    assert sorted((e.thread_id, e.why) for e in of(ThreadRequeued, events)) == [
        (answered, "logout"),
        (waiting, "logout"),
    ]
    assert sorted(assignments(events)) == [(answered, 2), (waiting, 2)]
    assert w.agent(1).before_logout == (State.ACTIVE, None)
    events = w.connect(1, t=100)
    assert status_changes(events) == [StatusChanged(100, 1, State.OFFLINE, None, State.ACTIVE, None, RECONNECTED)]


def test_s8_s5_on_disconnect_offline_with_on_logout_keep_keeps_answered_threads() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT, on_logout="keep")
    w.present(1)
    answered = w.client_writes("c1", t=0)
    waiting = w.client_writes("c2", t=1)
    w.answer(answered, t=2)
    w.ready(2, t=3)
    w.disconnect(1, t=10)
    events = w.tick(70)
    assert w.state(1) is State.OFFLINE
    assert [(e.thread_id, e.why) for e in of(ThreadRequeued, events)] == [(waiting, "reclaimed")]  # R5
    assert w.held(1) == [answered]
    assert w.holder(waiting) == 2
    w.connect(1, t=100)
    assert w.status(1) == (State.ACTIVE, None)
    assert w.held(1) == [answered]


def test_s8_s3_the_return_of_a_logged_out_agent_to_a_break_goes_through_finishing() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT, on_logout="keep")
    w.present(1)
    thread = w.client_writes("c1", t=0)
    w.answer(thread, t=1)
    w.go_inactive(1, "lunch", t=2)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.state(1) is State.OFFLINE
    assert w.held(1) == [thread]
    w.connect(1, t=100)
    assert w.status(1) == (State.FINISHING, "lunch")  # as at login: the kept thread first
    w.close(thread, t=110)
    assert w.status(1) == (State.INACTIVE, "lunch")


def test_s8_s4_on_disconnect_offline_cancels_a_pending_request() -> None:
    w = _exam_world()
    w.settings(0, on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.go_inactive(1, "exam", t=1)
    w.disconnect(1, t=10)
    events = w.tick(70)
    assert of(ApprovalCancelled, events) == [ApprovalCancelled(70, 1, 1, "logged_out")]
    assert w.ws.requests == {}


def test_s8_on_disconnect_offline_logs_out_an_agent_on_a_break_and_the_return_gives_the_break_back() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.go_inactive(1, "lunch", t=0)
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.state(1) is State.OFFLINE
    w.connect(1, t=80)
    assert w.status(1) == (State.INACTIVE, "lunch")


# -- S4 approval -----------------------------------------------------------------------


def test_s8_s4_a_pending_request_survives_a_disconnect_to_away() -> None:
    w = _exam_world()
    w.present(1)
    events = w.go_inactive(1, "exam", t=1)
    assert of(ApprovalRequested, events) == [ApprovalRequested(1, 1, 1, State.INACTIVE, "exam")]
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.status(1) == (State.INACTIVE, "away")
    assert w.agent(1).pending_request == 1
    w.connect(1, t=100)  # back: active again, the request still waiting
    assert w.status(1) == (State.ACTIVE, None)
    w.do(c.DecideApproval(1, True, SUPERVISOR), 110)
    assert w.status(1) == (State.INACTIVE, "exam")


def test_s8_s4_a_request_rejected_while_away_leaves_the_return() -> None:
    w = _exam_world()
    w.present(1)
    w.go_inactive(1, "exam", t=1)
    w.disconnect(1, t=10)
    w.tick(70)
    w.do(c.DecideApproval(1, False, SUPERVISOR), 80)
    w.connect(1, t=100)
    assert w.status(1) == (State.ACTIVE, None)


# -- R5 and S3: threads held when the grace ends --------------------------------------


def test_s8_r5_the_move_reclaims_unanswered_threads_and_in_progress_ones_stay() -> None:
    w = World()
    w.present(1)
    answered = w.client_writes("c1", t=0)
    waiting = w.client_writes("c2", t=1)
    w.answer(answered, t=2)
    w.ready(2, t=3)
    w.disconnect(1, t=10)
    events = w.tick(70)
    assert status_changes(events, 1) == [
        StatusChanged(70, 1, State.ACTIVE, None, State.FINISHING, "away", DISCONNECTED)
    ]
    assert [(e.thread_id, e.why) for e in of(ThreadRequeued, events)] == [(waiting, "reclaimed")]
    assert assignments(events) == [(waiting, 2)]
    assert w.held(1) == [answered]


def test_s8_s3_finishing_towards_away_arrives_there_and_the_return_still_restores() -> None:
    w = World()
    w.present(1)
    answered = w.client_writes("c1", t=0)
    w.answer(answered, t=1)
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.status(1) == (State.FINISHING, "away")
    events = w.close(answered, t=80, by=SUPERVISOR)
    assert status_changes(events) == [
        StatusChanged(80, 1, State.FINISHING, "away", State.INACTIVE, "away", Actor.system(WHY_FINISHING_COMPLETED))
    ]
    w.connect(1, t=100)
    assert w.status(1) == (State.ACTIVE, None)


def test_s8_s3_a_return_while_still_finishing_towards_away_restores_too() -> None:
    w = World()
    w.present(1)
    answered = w.client_writes("c1", t=0)
    w.answer(answered, t=1)
    w.disconnect(1, t=10)
    w.tick(70)
    w.connect(1, t=100)
    assert w.status(1) == (State.ACTIVE, None)
    assert w.held(1) == [answered]


def test_s8_s3_a_not_ready_agent_holding_a_thread_finishes_it_towards_away() -> None:
    w = World()
    w.logged_in(1)
    w.connect(1, t=0)
    thread = w.client_writes("c1", t=0)
    w.transfer(thread, 1, t=1)
    w.answer(thread, t=2)
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.status(1) == (State.FINISHING, "away")
    w.close(thread, t=80)
    assert w.status(1) == (State.INACTIVE, "away")
    w.connect(1, t=90)
    assert w.status(1) == (State.NOT_READY, None)


def test_s8_r6_with_nobody_else_eligible_the_reclaim_waits_and_runs_when_someone_is() -> None:
    w = World(response_timeout=3600)
    w.present(1)
    waiting = w.client_writes("c1", t=0)
    w.disconnect(1, t=10)
    events = w.tick(70)
    assert status_changes(events) == [StatusChanged(70, 1, State.ACTIVE, None, State.FINISHING, "away", DISCONNECTED)]
    assert of(ThreadRequeued, events) == []  # R6: nobody to give it to
    assert w.thread(waiting).reclaim_pending
    assert w.ws.routing() == "halted"
    w.ready(2, t=100)
    assert w.holder(waiting) == 2
    assert w.status(1) == (State.INACTIVE, "away")  # the last thread gone: S3
    w.connect(1, t=200)
    assert w.status(1) == (State.ACTIVE, None)


def test_s8_r6_the_return_before_anyone_is_eligible_keeps_the_deferred_thread() -> None:
    w = World(response_timeout=3600)
    w.present(1)
    waiting = w.client_writes("c1", t=0)
    w.disconnect(1, t=10)
    w.tick(70)
    w.connect(1, t=100)
    assert w.status(1) == (State.ACTIVE, None)
    assert w.held(1) == [waiting]
    assert not w.thread(waiting).reclaim_pending
    assert w.ws.reclaim_pending == {}


# -- S6 "continue working?" ----------------------------------------------------------


def test_s8_s6_a_prompt_running_when_the_grace_ends_is_cleared() -> None:
    w = World()
    w.present(1)
    thread = w.client_writes("c1", t=0)
    w.ready(2, t=1)
    w.disconnect(1, t=5)
    w.tick(60)
    assert of(AgentPrompted, w.last) == [AgentPrompted(60, 1, 90)]
    events = w.tick(65)
    assert of(PromptCleared, events) == [PromptCleared(65, 1, "status_changed")]
    assert w.status(1) == (State.INACTIVE, "away")
    assert w.holder(thread) == 2
    assert w.tick(90) == []


def test_s8_s6_deadlines_of_one_instant_fire_in_the_same_order_whichever_was_set_first() -> None:
    """The mirror of the test below: the S6 response deadline is set before the grace, and
    the grace still fires first. Deadlines of one instant fire in an order the state alone
    decides, so an engine rebuilt from the database (a restart, a follower) fires them as
    the engine that set them did."""
    w = World()
    w.present(1)
    w.ready(1, t=0)
    thread = w.client_writes("c1", t=0)  # S6: answer by 60
    w.disconnect(1, t=0)  # the grace ends at 60 too
    w.ready(2, t=0)
    events = w.tick(60)
    assert of(AgentPrompted, events) == []
    assert w.status(1) == (State.INACTIVE, "away")
    assert w.holder(thread) == 2


def test_s8_s6_a_thread_reclaimed_when_the_grace_ends_prompts_nobody_in_the_same_instant() -> None:
    """The grace and the S6 response deadline end together, the grace first: the thread goes
    back to the queue, and the response deadline that fires next is no longer anybody's."""
    w = World()
    w.present(1)
    w.disconnect(1, t=0)  # the grace ends at 60
    thread = w.client_writes("c1", t=0)  # S6: answer by 60
    w.ready(2, t=0)
    events = w.tick(60)
    assert of(AgentPrompted, events) == []
    assert w.status(1) == (State.INACTIVE, "away")
    assert w.agent(1).prompt_deadline is None
    assert w.holder(thread) == 2
    assert w.next_deadline() == 120  # agent 2's, from the assignment at 60


def test_s8_s6_a_kick_out_before_the_grace_ends_means_no_move_and_no_return() -> None:
    w = World()
    w.present(1)
    w.client_writes("c1", t=0)
    w.disconnect(1, t=50)
    w.tick(60)  # prompted
    events = w.tick(90)
    assert status_changes(events) == [
        StatusChanged(90, 1, State.ACTIVE, None, State.KICKED_OUT, None, Actor.system(WHY_KICKED_OUT))
    ]
    assert w.next_deadline() is None
    assert w.tick(110) == []
    w.connect(1, t=200)
    assert w.state(1) is State.KICKED_OUT
    assert _moves(w) == []


def test_s8_s6_a_kick_out_and_a_grace_due_in_the_same_late_tick_the_kick_out_wins() -> None:
    """The engine ticked late (the service was down): the prompt's deadline came first, and
    the grace that ended after it must see the agent kicked out, not move them again."""
    w = World()
    w.present(1)
    w.client_writes("c1", t=0)
    w.disconnect(1, t=40)  # the grace would end at 100
    w.tick(60)  # prompted until 90
    events = w.tick(500)
    assert [(e.to_state, e.actor.why) for e in status_changes(events)] == [(State.KICKED_OUT, WHY_KICKED_OUT)]
    assert w.agent(1).away_from is None
    assert w.next_deadline() is None
    w.connect(1, t=600)
    assert w.state(1) is State.KICKED_OUT


def test_s8_s6_kicked_out_while_disconnected_gets_a_whole_grace_under_on_disconnect_offline() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.client_writes("c1", t=0)
    w.disconnect(1, t=40)
    w.tick(60)
    w.tick(90)
    assert w.state(1) is State.KICKED_OUT
    assert w.next_deadline() == 90 + GRACE
    w.tick(150)
    assert w.state(1) is State.OFFLINE


# -- idle_timeout --------------------------------------------------------------------


def test_s8_idle_timeout_is_off_by_default() -> None:
    w = World()
    w.present(1)
    assert w.next_deadline() is None
    w.tick(WINDOW)
    assert w.state(1) is State.ACTIVE


def test_s8_input_keeps_an_agent() -> None:
    w = World(idle_timeout=300)
    w.present(1)
    assert w.next_deadline() == 300
    w.report_input(1, t=200)
    assert w.next_deadline() == 500
    w.tick(300)
    w.report_input(1, t=450)
    assert w.next_deadline() == 750
    w.tick(749)
    assert w.state(1) is State.ACTIVE


def test_s8_no_input_for_idle_timeout_moves_them_with_why_idle() -> None:
    w = World(idle_timeout=300)
    w.present(1)
    w.report_input(1, t=100)
    events = w.tick(400)
    assert status_changes(events) == [StatusChanged(400, 1, State.ACTIVE, None, State.INACTIVE, "away", IDLE)]
    assert w.agent(1).connected
    assert w.next_deadline() is None


def test_s8_input_after_idle_brings_them_back() -> None:
    w = World(idle_timeout=300)
    w.present(1)
    w.tick(300)
    events = w.report_input(1, t=350)
    assert status_changes(events) == [StatusChanged(350, 1, State.INACTIVE, "away", State.ACTIVE, None, RECONNECTED)]
    assert w.next_deadline() == 650


def test_s8_a_reconnect_after_idle_brings_them_back_too() -> None:
    w = World(idle_timeout=300)
    w.present(1)
    w.tick(300)
    w.disconnect(1, t=310)
    w.connect(1, t=320)
    assert w.status(1) == (State.ACTIVE, None)


def test_s8_input_from_a_page_without_a_stream_is_ignored() -> None:
    w = World(idle_timeout=300)
    w.present(1)
    w.disconnect(1, t=10)
    w.tick(70)
    assert w.report_input(1, t=80) == []
    assert w.status(1) == (State.INACTIVE, "away")


def test_s8_a_status_change_restarts_the_idle_clock() -> None:
    w = World(idle_timeout=300)
    w.present(1)
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=200, by=SUPERVISOR)
    assert w.next_deadline() == 500


def test_s8_idle_with_on_disconnect_offline_is_a_logout_and_input_logs_them_back_in() -> None:
    w = World(idle_timeout=300, on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.tick(300)
    assert status_changes(w.last) == [StatusChanged(300, 1, State.ACTIVE, None, State.OFFLINE, None, IDLE)]
    w.report_input(1, t=400)
    assert w.status(1) == (State.ACTIVE, None)


def test_s8_idle_never_moves_an_agent_who_is_not_watched() -> None:
    w = World(idle_timeout=300)
    w.register(1)
    w.connect(1, t=0)
    w.disconnect(1, t=1)
    w.login(1, 2)  # not connected since
    w.set_status(1, State.ACTIVE, t=2)
    assert w.next_deadline() is None


# -- settings ------------------------------------------------------------------------


def test_s8_a_grace_shortened_so_that_it_is_due_fires_at_once() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=0)
    events = w.settings(40, disconnect_grace=30)
    assert of(SettingsChanged, events) == [SettingsChanged(40, {"disconnect_grace": 30.0})]
    assert status_changes(events) == [StatusChanged(40, 1, State.ACTIVE, None, State.INACTIVE, "away", DISCONNECTED)]


def test_s8_a_grace_lengthened_moves_the_deadline() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=0)
    w.settings(40, disconnect_grace=300)
    assert w.next_deadline() == 300
    assert w.tick(GRACE) == []


@pytest.mark.parametrize("off", [0, None])
def test_s8_disconnect_grace_zero_turns_the_rule_off(off: float | None) -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=0)
    w.settings(10, disconnect_grace=off)
    assert w.ws.settings.disconnect_grace == 0
    assert w.next_deadline() is None
    assert w.tick(WINDOW) == []
    assert w.state(1) is State.ACTIVE
    w.connect(1, t=WINDOW + 1)
    assert of(AgentDisconnected, w.disconnect(1, t=WINDOW + 2)) == [AgentDisconnected(WINDOW + 2, 1, None)]


def test_s8_a_grace_turned_off_and_on_again_fires_once_and_the_return_still_restores() -> None:
    """Off and on again leaves two heap entries for the same deadline; the second is stale."""
    w = World()
    w.ready(3)
    w.client_writes("c1", t=0)  # agent 3's S6 deadline at 60 keeps the heap's top live
    w.present(1, t=1)
    w.disconnect(1, t=5)
    w.settings(10, disconnect_grace=0)
    w.settings(10, disconnect_grace=60)
    assert w.next_deadline() == 60
    w.tick(65)
    assert _moves(w) == [(65, State.INACTIVE, "away", WHY_DISCONNECTED)]
    assert w.agent(1).away_from == (State.ACTIVE, None)
    w.connect(1, t=100)
    assert w.status(1) == (State.ACTIVE, None)


def test_s8_idle_timeout_turned_on_counts_from_the_last_input() -> None:
    w = World()
    w.present(1)
    w.report_input(1, t=100)
    w.settings(200, idle_timeout=300)
    assert w.next_deadline() == 400
    w.settings(250, idle_timeout=120)  # already due: fires at once
    assert _moves(w) == [(250, State.INACTIVE, "away", WHY_IDLE)]


def test_s8_on_disconnect_offline_set_later_moves_an_agent_on_a_break() -> None:
    w = World()
    w.present(1)
    w.go_inactive(1, "lunch", t=0)
    w.disconnect(1, t=10)
    assert w.next_deadline() is None
    w.settings(100, on_disconnect=OFFLINE_ON_DISCONNECT)  # due since 70: fires at once
    assert w.state(1) is State.OFFLINE
    w.connect(1, t=200)
    assert w.status(1) == (State.INACTIVE, "lunch")


def test_s8_on_disconnect_inactive_set_later_spares_a_kicked_out_agent() -> None:
    w = World(on_disconnect=OFFLINE_ON_DISCONNECT)
    w.present(1)
    w.client_writes("c1", t=0)
    w.tick(60)
    w.tick(90)
    w.disconnect(1, t=100)
    assert w.next_deadline() == 160
    w.settings(110, on_disconnect={"state": "inactive", "reason": "away"})
    assert w.next_deadline() is None
    w.tick(1000)
    assert w.state(1) is State.KICKED_OUT


def test_s8_moved_twice_the_first_status_still_comes_back() -> None:
    """Idle moved them to away; on_disconnect offline then logged them out too: the return
    gives back what they had before the system first moved them."""
    w = World(idle_timeout=300)
    w.present(1)
    w.tick(300)
    assert w.status(1) == (State.INACTIVE, "away")
    w.disconnect(1, t=310)
    w.settings(320, on_disconnect=OFFLINE_ON_DISCONNECT)
    w.tick(370)
    assert w.state(1) is State.OFFLINE
    w.connect(1, t=400)
    assert w.status(1) == (State.ACTIVE, None)


def test_s8_a_status_given_by_a_supervisor_while_disconnected_gets_a_whole_grace() -> None:
    w = World()
    w.present(1)
    w.disconnect(1, t=0)
    assert w.next_deadline() == 60
    w.set_status(1, State.NOT_READY, t=50, by=SUPERVISOR)
    assert w.next_deadline() == 110
    w.go_inactive(1, "lunch", t=60, by=SUPERVISOR)
    assert w.next_deadline() is None
    w.set_status(1, State.ACTIVE, t=70, by=SUPERVISOR)
    assert w.next_deadline() == 130
    w.tick(129)
    assert w.state(1) is State.ACTIVE
    w.tick(130)
    assert w.status(1) == (State.INACTIVE, "away")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"on_disconnect": {"state": "inactive", "reason": "nope"}}, "on_disconnect", "unknown_reason"),
        ({"on_disconnect": {"state": "inactive", "reason": "meeting"}}, "on_disconnect", "reason_retired"),
        ({"on_disconnect": {"state": "inactive"}}, "on_disconnect", "invalid"),
        ({"on_disconnect": {"state": "inactive", "reason": ""}}, "on_disconnect", "invalid"),
        ({"on_disconnect": {"state": "offline", "reason": "away"}}, "on_disconnect", "invalid"),
        ({"on_disconnect": {"state": "active"}}, "on_disconnect", "invalid"),
        ({"on_disconnect": {"state": "kicked_out"}}, "on_disconnect", "invalid"),
        ({"on_disconnect": {"state": "inactive", "reason": "away", "extra": 1}}, "on_disconnect", "invalid"),
        ({"on_disconnect": "away"}, "on_disconnect", "invalid"),
        ({"on_disconnect": None}, "on_disconnect", "invalid"),
        ({"disconnect_grace": -1}, "disconnect_grace", "invalid"),
        ({"disconnect_grace": "60"}, "disconnect_grace", "invalid"),
        ({"disconnect_grace": True}, "disconnect_grace", "invalid"),
        ({"return_window": 10**9}, "return_window", "invalid"),
        ({"idle_timeout": -5}, "idle_timeout", "invalid"),
    ],
)
def test_s8_settings_refused_name_the_field_and_change_nothing(changes: dict[str, Any], field: str, code: str) -> None:
    w = World()
    w.do(c.RetireReason("meeting"), 0)
    w.present(1)
    before = snapshot(w.engine)
    with pytest.raises(DomainError) as refused:
        w.settings(1, **changes)
    assert refused.value.field == field
    assert refused.value.code == code
    assert snapshot(w.engine) == before


def test_s8_settings_read_back_in_their_api_shape() -> None:
    w = World()
    assert {k: v for k, v in w.ws.settings.as_dict().items() if k in _S8_SETTINGS} == {
        "disconnect_grace": 60.0,
        "return_window": 28800.0,
        "idle_timeout": 0.0,
        "on_disconnect": {"state": "inactive", "reason": "away"},
    }
    events = w.settings(1, on_disconnect=OFFLINE_ON_DISCONNECT, idle_timeout=None)
    assert of(SettingsChanged, events) == [
        SettingsChanged(1, {"idle_timeout": 0.0, "on_disconnect": {"state": "offline"}})
    ]


_S8_SETTINGS = ("disconnect_grace", "return_window", "idle_timeout", "on_disconnect")


# -- the service's start: ResetConnections, and restore ---------------------------------


def test_s8_reset_connections_counts_the_connected_as_disconnected_from_now() -> None:
    w = World()
    w.present(1, 2)
    w.ready(3)  # never connected
    w.disconnect(2, t=0)  # grace under way, to 60
    events = w.do(c.ResetConnections(), 30)
    assert of(AgentDisconnected, events) == [AgentDisconnected(30, 1, 90)]
    assert not w.agent(1).connected
    w.tick(60)
    assert w.status(2) == (State.INACTIVE, "away")
    assert w.state(1) is State.ACTIVE
    w.connect(1, t=80)  # the page connected again to the new process: nothing recorded
    w.tick(1000)
    assert w.state(1) is State.ACTIVE
    assert w.state(3) is State.ACTIVE
    assert _moves(w, 1) == []


def test_s8_restore_keeps_a_grace_under_way_and_the_status_to_bring_back() -> None:
    w = World()
    w.present(1, 2)
    w.disconnect(1, t=0)
    w.disconnect(2, t=0)
    w.tick(60)  # both away
    w.connect(1, t=100)
    w.disconnect(1, t=110)  # a new grace, to 170
    w.engine = restore(take_snapshot(w.engine))
    assert w.next_deadline() == 170
    assert w.agent(2).away_from == (State.ACTIVE, None)
    w.tick(170)
    assert w.status(1) == (State.INACTIVE, "away")
    w.connect(2, t=200)
    assert w.status(2) == (State.ACTIVE, None)


def test_s8_restore_keeps_the_idle_clock_of_the_connected() -> None:
    """The pages' last input is kept (a follower rebuilds while the streams stay open);
    without one (kept by an older version), the idle clock runs from the last step."""
    w = World(idle_timeout=300)
    w.present(1)
    w.report_input(1, t=10)
    w.client_writes("c1", t=100)
    snapshot = take_snapshot(w.engine)
    w.engine = restore(snapshot)
    assert w.agent(1).idle_deadline == 310
    for agent in snapshot.agents:
        agent.last_input = None
    w.engine = restore(snapshot)
    assert w.agent(1).idle_deadline == 400


# -- several instances: where the streams are open, and an instance that dies ------------


def _on_a_and_b() -> World:
    """Agent 1 active, with a stream open on instance a (from 0) and on instance b (from 1)."""
    w = World()
    w.ready(1)
    assert of(AgentConnected, w.connect(1, t=0, on="a")) == [AgentConnected(0, 1)]
    assert w.connect(1, t=1, on="b") == []  # connected already: a second instance says nothing
    assert w.agent(1).connected_on == {"a", "b"}
    return w


def test_s8_closing_the_streams_on_one_of_two_instances_keeps_the_agent_connected() -> None:
    w = _on_a_and_b()
    assert w.disconnect(1, t=10, on="a") == []
    assert w.agent(1).connected and w.agent(1).connected_on == {"b"}
    assert w.agent(1).grace_deadline is None and w.next_deadline() is None
    w.tick(10 + 10 * GRACE)
    assert w.status(1) == (State.ACTIVE, None)
    assert _moves(w) == []


def test_s8_closing_the_last_instance_starts_the_grace_from_that_close() -> None:
    w = _on_a_and_b()
    w.disconnect(1, t=10, on="a")
    assert of(AgentDisconnected, w.disconnect(1, t=20, on="b")) == [AgentDisconnected(20, 1, 20 + GRACE)]
    assert not w.agent(1).connected and w.agent(1).connected_on == frozenset()
    w.tick(20 + GRACE)
    assert _moves(w) == [(20 + GRACE, State.INACTIVE, "away", WHY_DISCONNECTED)]


def test_s8_a_disconnect_from_an_instance_without_a_stream_of_theirs_changes_nothing() -> None:
    w = World()
    w.ready(1)
    w.connect(1, t=0, on="a")
    before = snapshot(w.engine)
    assert w.disconnect(1, t=0, on="b") == []
    assert w.disconnect(1, t=0) == []  # nor the one instance of a service alone
    assert snapshot(w.engine) == before
    assert w.ws.connected_instances() == {"a"}


def test_s8_a_reconnect_on_another_instance_within_the_grace_records_nothing() -> None:
    """The page was on an instance that went away; it connects again through another one."""
    w = World()
    w.ready(1)
    w.connect(1, t=0, on="a")
    w.disconnect(1, t=10, on="a")
    assert of(AgentConnected, w.connect(1, t=30, on="b")) == [AgentConnected(30, 1)]
    assert w.do(c.DropInstance("a"), 40) == []  # a's streams were closed already
    w.tick(10 + 10 * GRACE)
    assert w.status(1) == (State.ACTIVE, None)
    assert _moves(w) == []
    assert w.agent(1).connected_on == {"b"}


def test_s8_a_return_on_another_instance_within_return_window_brings_back_the_status_before() -> None:
    w = World()
    w.ready(1)
    w.connect(1, t=0, on="a")
    w.disconnect(1, t=10, on="a")
    w.tick(70)
    w.connect(1, t=100, on="b")
    assert _moves(w) == [(70, State.INACTIVE, "away", WHY_DISCONNECTED), (100, State.ACTIVE, None, WHY_RECONNECTED)]


def test_s8_a_connect_on_a_second_instance_counts_as_the_agent_being_there() -> None:
    """Connected already on a, moved for want of input; a page opened through b is them, there:
    the status before comes back and the idle clock starts again, as a Connect does alone."""
    w = World(idle_timeout=300)
    w.ready(1)
    w.connect(1, t=0, on="a")
    w.tick(300)
    assert w.status(1) == (State.INACTIVE, "away")
    assert of(AgentConnected, w.connect(1, t=400, on="b")) == []
    assert _moves(w) == [(300, State.INACTIVE, "away", WHY_IDLE), (400, State.ACTIVE, None, WHY_RECONNECTED)]
    assert w.agent(1).last_input == 400
    assert w.agent(1).idle_deadline == 700


def test_s8_drop_instance_of_one_of_two_changes_nothing_but_where_the_agent_is_connected() -> None:
    w = _on_a_and_b()
    w.ready(2)
    w.connect(2, t=1, on="a")
    assert w.do(c.DropInstance("b"), 10) == []
    assert w.agent(1).connected_on == {"a"} and w.agent(2).connected_on == {"a"}
    assert w.ws.connected_instances() == {"a"}
    w.tick(10 + 10 * GRACE)
    assert (w.status(1), w.status(2)) == ((State.ACTIVE, None), (State.ACTIVE, None))
    assert _moves(w, 1) == _moves(w, 2) == []


def test_s8_drop_instance_of_the_only_one_is_a_disconnect_of_each_agent_on_it_by_id() -> None:
    """Agents 2 and 1 had streams on b alone, agent 3 on a and b: 1 and 2 are disconnected
    (in id order, whatever the order they came in), exactly as by their own Disconnect."""

    def floor() -> World:
        w = World()
        w.ready(3, 2, 1)
        w.connect(3, t=0, on="a")
        for agent in (3, 2, 1):
            w.connect(agent, t=0, on="b")
        return w

    dropped, closed = floor(), floor()
    events = dropped.do(c.DropInstance("b"), 10)
    assert events == [AgentDisconnected(10, 1, 10 + GRACE), AgentDisconnected(10, 2, 10 + GRACE)]
    assert closed.disconnect(1, t=10, on="b") + closed.disconnect(2, t=10, on="b") == events
    closed.disconnect(3, t=10, on="b")
    assert snapshot(dropped.engine) == snapshot(closed.engine)
    dropped.tick(10 + GRACE)
    assert [dropped.status(a) for a in (1, 2, 3)] == [(State.INACTIVE, "away")] * 2 + [(State.ACTIVE, None)]
    assert dropped.ws.connected_instances() == {"a"}


@pytest.mark.parametrize("instance", ["c", ""])
def test_s8_drop_of_an_instance_nobody_is_connected_on_does_nothing(instance: str) -> None:
    w = _on_a_and_b()
    before = snapshot(w.engine)
    assert w.do(c.DropInstance(instance), 1) == []
    assert snapshot(w.engine) == before


def test_s8_reset_connections_drops_every_instance() -> None:
    w = _on_a_and_b()
    w.ready(2)
    w.connect(2, t=1)  # the one instance of a service alone
    events = w.do(c.ResetConnections(), 30)
    assert of(AgentDisconnected, events) == [AgentDisconnected(30, 1, 90), AgentDisconnected(30, 2, 90)]
    assert w.agent(1).connected_on == w.agent(2).connected_on == frozenset()
    assert w.ws.connected_instances() == frozenset()


def test_s8_the_instances_anyone_is_connected_on_follow_every_change_and_a_restore() -> None:
    w = World()
    w.ready(1, 2)
    assert w.ws.connected_instances() == frozenset()
    w.connect(1, t=0, on="a")
    w.connect(2, t=0, on="a")
    w.connect(2, t=0, on="b")
    assert w.ws.connected_instances() == {"a", "b"}
    w.disconnect(2, t=1, on="b")
    w.connect(1, t=1, on="c")
    w.disconnect(1, t=2, on="a")  # 2 is still on a
    assert w.ws.connected_instances() == {"a", "c"}
    assert w.ws.agents_on_instance == {"a": 1, "c": 1}
    w.engine = restore(take_snapshot(w.engine))
    assert w.agent(1).connected_on == {"c"} and w.agent(2).connected_on == {"a"}
    assert w.ws.connected_instances() == {"a", "c"}
    assert w.ws.agents_on_instance == {"a": 1, "c": 1}
    w.do(c.DropInstance("c"), 3)
    assert w.ws.connected_instances() == {"a"}


@pytest.mark.parametrize(
    "command",
    [c.Connect(1, "x" * 81), c.Disconnect(1, "x" * 81), c.DropInstance(None), c.Connect(1, 7)],  # type: ignore[arg-type]
)
def test_s8_an_instance_that_cannot_be_one_is_refused_naming_the_field(command: c.Command) -> None:
    w = _on_a_and_b()
    before = snapshot(w.engine)
    with pytest.raises(DomainError) as refused:
        w.do(command, 1)
    assert refused.value.field == "instance"
    assert snapshot(w.engine) == before


def test_s8_idle_timeout_under_two_minutes_is_refused_as_pages_report_once_a_minute() -> None:
    w = World()
    with pytest.raises(DomainError, match="at least 120") as refused:
        w.do(c.ChangeSettings({"idle_timeout": 90}), 1)
    assert refused.value.field == "idle_timeout"
    w.do(c.ChangeSettings({"idle_timeout": 120}), 2)
    w.do(c.ChangeSettings({"idle_timeout": None}), 3)  # null turns it off, like 0
    assert w.engine.workspace.settings.idle_timeout == 0
