"""Statuses: S1 reasons, S2 who changes what, S3 finishing, S4 approval, S5 login/logout, S7 the status log."""

from __future__ import annotations

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import Conflict, DomainError, Forbidden, NotFound
from onduty.domain.events import (
    ApprovalCancelled,
    ApprovalDecided,
    ApprovalRequested,
    PromptCleared,
    ReasonSaved,
    StatusChanged,
    ThreadAssigned,
    ThreadRequeued,
)
from onduty.domain.statuses import status_label
from onduty.domain.types import (
    WHY_FINISHING_COMPLETED,
    WHY_KICKED_OUT,
    WHY_LOGIN_RESTORE,
    Actor,
    State,
    ThreadState,
)
from tests.unit.engine_helpers import SUPERVISOR, SUPERVISOR_ID, World, of, snapshot, status_changes

# -- S1 reasons ------------------------------------------------------------------


def test_s1_built_in_reasons_are_in_the_catalogue() -> None:
    w = World()
    labels = {reason.code: reason.label for reason in w.ws.reasons.all()}
    assert labels == {
        "lunch": "Lunch break",
        "short_break": "Short break",
        "training": "Training",
        "meeting": "Meeting",
        "technical_break": "Technical break",
        "away": "Away",
    }


def test_s1_admin_adds_a_custom_reason_an_agent_can_choose() -> None:
    w = World()
    w.logged_in(1)
    events = w.do(c.AddReason("coaching", "Coaching"), 5)
    assert of(ReasonSaved, events) == [ReasonSaved(5, "coaching", "Coaching", False, False)]
    w.go_inactive(1, "coaching", t=10)
    assert w.status(1) == (State.INACTIVE, "coaching")


def test_s1_custom_reason_shows_its_label_like_a_built_in_one() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    w.logged_in(1, 2)
    w.go_inactive(1, "coaching", t=1)
    w.go_inactive(2, "lunch", t=1)
    shown = [status_label(w.state(a), w.ws.reasons.label(w.agent(a).reason), 0) for a in (1, 2)]
    assert shown == ["Coaching", "Lunch break"]


def test_s1_admin_relabels_a_built_in_reason() -> None:
    w = World()
    w.logged_in(1)
    w.go_inactive(1, "lunch", t=1)
    events = w.do(c.ChangeReason("lunch", label="Lunch"), 2)
    assert of(ReasonSaved, events) == [ReasonSaved(2, "lunch", "Lunch", False, False)]
    assert w.ws.reasons.label(w.agent(1).reason) == "Lunch"
    assert w.status(1) == (State.INACTIVE, "lunch")


def test_s1_a_reason_marked_requires_approval_later_needs_approval() -> None:
    w = World()
    w.logged_in(1)
    w.do(c.ChangeReason("training", requires_approval=True), 1)
    events = w.go_inactive(1, "training", t=2)
    assert [(e.agent_id, e.reason) for e in of(ApprovalRequested, events)] == [(1, "training")]
    assert w.state(1) is State.NOT_READY


def test_s1_retired_reason_cannot_be_chosen_anew() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    w.logged_in(1)
    w.do(c.RetireReason("coaching"), 1)
    with pytest.raises(DomainError) as refused:
        w.go_inactive(1, "coaching", t=2)
    assert refused.value.field == "reason"
    assert refused.value.code == "reason_retired"
    assert w.state(1) is State.NOT_READY


def test_s1_retired_reason_cannot_be_set_by_a_supervisor_either() -> None:
    w = World()
    w.logged_in(1)
    w.do(c.RetireReason("meeting"), 1)
    with pytest.raises(DomainError) as refused:
        w.go_inactive(1, "meeting", t=2, by=SUPERVISOR)
    assert refused.value.field == "reason"
    assert w.state(1) is State.NOT_READY


def test_s1_agent_in_a_retired_reason_stays_in_it() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    w.logged_in(1)
    w.go_inactive(1, "coaching", t=1)
    events = w.do(c.RetireReason("coaching"), 2)
    assert status_changes(events) == []
    assert w.status(1) == (State.INACTIVE, "coaching")


def test_s1_retired_reason_keeps_its_label_for_history() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    events = w.do(c.RetireReason("coaching"), 2)
    assert of(ReasonSaved, events) == [ReasonSaved(2, "coaching", "Coaching", False, True)]
    assert w.ws.reasons.label("coaching") == "Coaching"
    reason = w.ws.reasons.get("coaching")
    assert reason is not None
    assert reason.retired


def test_s1_login_after_the_reason_was_retired_restores_not_ready() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    w.logged_in(1)
    w.go_inactive(1, "coaching", t=1)
    w.logout(1, t=2)
    w.do(c.RetireReason("coaching"), 3)
    w.login(1, 4)
    assert w.status(1) == (State.NOT_READY, None)


def test_s1_finishing_towards_a_retired_reason_still_arrives_in_it() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "coaching", t=3)
    assert w.status(1) == (State.FINISHING, "coaching")
    w.do(c.RetireReason("coaching"), 4)
    w.close(thread, t=5)
    assert w.status(1) == (State.INACTIVE, "coaching")


def test_s1_login_after_finishing_towards_a_since_retired_reason_restores_not_ready() -> None:
    w = World()
    w.add_reason("coaching", "Coaching")
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "coaching", t=3)
    w.logout(1, t=4)
    w.do(c.RetireReason("coaching"), 5)
    w.login(1, 6)
    assert w.status(1) == (State.NOT_READY, None)


def test_s1_retiring_a_reason_cancels_pending_requests_for_it() -> None:
    w = World()
    w.add_reason("exam", "Exam", requires_approval=True)
    w.logged_in(1)
    w.go_inactive(1, "exam", t=1)
    events = w.do(c.RetireReason("exam"), 2)
    assert [(e.request_id, e.agent_id, e.why) for e in of(ApprovalCancelled, events)] == [(1, 1, "reason_retired")]
    assert w.agent(1).pending_request is None
    with pytest.raises(NotFound):
        w.do(c.DecideApproval(1, True, SUPERVISOR), 3)
    assert w.state(1) is State.NOT_READY


def test_s1_built_in_reason_can_be_retired() -> None:
    w = World()
    w.logged_in(1)
    w.do(c.RetireReason("meeting"), 1)
    with pytest.raises(DomainError) as refused:
        w.go_inactive(1, "meeting", t=2)
    assert refused.value.code == "reason_retired"


def test_s1_s8_the_on_disconnect_reason_cannot_be_retired_while_in_use() -> None:
    w = World()
    with pytest.raises(DomainError, match="on_disconnect") as refused:
        w.do(c.RetireReason("away"), 1)
    assert refused.value.field == "code"
    w.do(c.ChangeSettings({"on_disconnect": {"state": "offline"}}), 2)
    w.do(c.RetireReason("away"), 3)


# -- S2 who changes a status -------------------------------------------------------


def test_s2_agent_changes_own_status_at_any_time() -> None:
    w = World()
    w.logged_in(1)
    seen = []
    for t, (state, reason) in enumerate(
        [
            (State.ACTIVE, None),
            (State.INACTIVE, "short_break"),
            (State.ACTIVE_OWN_CLIENTS, None),
            (State.INACTIVE, "meeting"),
            (State.NOT_READY, None),
        ],
        start=1,
    ):
        w.set_status(1, state, reason, t=t)
        seen.append(w.status(1))
    assert seen == [
        (State.ACTIVE, None),
        (State.INACTIVE, "short_break"),
        (State.ACTIVE_OWN_CLIENTS, None),
        (State.INACTIVE, "meeting"),
        (State.NOT_READY, None),
    ]


def test_s2_nobody_but_the_system_sets_kicked_out() -> None:
    w = World()
    w.ready(1)
    for actor in (Actor.agent(1), SUPERVISOR):
        with pytest.raises(Forbidden) as refused:
            w.set_status(1, State.KICKED_OUT, t=1, by=actor)
        assert refused.value.field == "state"
    assert w.state(1) is State.ACTIVE


def test_s2_supervisor_changes_an_agents_status() -> None:
    w = World()
    w.logged_in(1)
    events = w.set_status(1, State.ACTIVE, t=5, by=SUPERVISOR)
    assert w.state(1) is State.ACTIVE
    assert [e.actor for e in status_changes(events)] == [SUPERVISOR]


def test_s2_supervisor_cannot_change_an_offline_agents_status() -> None:
    w = World()
    w.register(1)
    with pytest.raises(Conflict) as refused:
        w.set_status(1, State.ACTIVE, t=1, by=SUPERVISOR)
    assert refused.value.field == "agent_id"
    assert w.state(1) is State.OFFLINE


def test_s2_agent_cannot_change_another_agents_status() -> None:
    w = World()
    w.logged_in(1, 2)
    with pytest.raises(Forbidden):
        w.set_status(2, State.ACTIVE, t=1, by=Actor.agent(1))
    assert w.state(2) is State.NOT_READY


def test_s2_own_request_for_the_current_status_changes_and_records_nothing() -> None:
    w = World()
    w.logged_in(1)
    w.go_inactive(1, "lunch", t=1)
    before = snapshot(w.engine)
    assert w.go_inactive(1, "lunch", t=1) == []
    assert snapshot(w.engine) == before


def test_s2_own_request_for_the_current_status_while_prompted_only_withdraws_the_prompt() -> None:
    """S2 and S6 (docs/rules.md): no status change is recorded, but asking counts as showing presence."""
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)  # S6: prompted, deadline 90
    events = w.set_status(1, State.ACTIVE, t=70)
    assert status_changes(events) == []
    assert [e.agent_id for e in of(PromptCleared, events)] == [1]
    assert w.tick(90) == []
    assert w.status(1) == (State.ACTIVE, None)


def test_s2_own_request_for_the_reason_already_finishing_towards_changes_nothing() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "lunch", t=3)
    assert w.go_inactive(1, "lunch", t=4) == []
    assert w.status(1) == (State.FINISHING, "lunch")


def test_s2_own_request_for_the_current_approval_reason_creates_no_request() -> None:
    """S2 (docs/rules.md): a request for the status one already has changes and records nothing,
    even when the reason requires approval (S4)."""
    w = World()
    w.add_reason("exam", "Exam", requires_approval=True)
    w.logged_in(1)
    w.go_inactive(1, "exam", t=1, by=SUPERVISOR)  # a supervisor's choice is the approval
    assert w.status(1) == (State.INACTIVE, "exam")
    events = w.go_inactive(1, "exam", t=2)
    assert events == []
    assert w.agent(1).pending_request is None


def test_s2_finishing_cannot_be_asked_for_directly() -> None:
    w = World()
    w.ready(1)
    with pytest.raises(DomainError) as refused:
        w.set_status(1, State.FINISHING, t=1)
    assert refused.value.field == "state"
    assert w.state(1) is State.ACTIVE


def test_s2_a_reason_goes_only_with_inactive() -> None:
    w = World()
    w.logged_in(1)
    with pytest.raises(DomainError) as refused:
        w.set_status(1, State.ACTIVE, "lunch", t=1)
    assert refused.value.field == "reason"
    assert w.state(1) is State.NOT_READY


def test_s2_offline_agent_setting_a_status_is_logged_in_into_it() -> None:
    w = World()
    w.register(1)
    events = w.set_status(1, State.ACTIVE, t=3)
    assert status_changes(events) == [StatusChanged(3, 1, State.OFFLINE, None, State.ACTIVE, None, Actor.agent(1))]
    thread = w.client_writes("c1", t=4)
    assert w.holder(thread) == 1


def test_s2_setting_offline_is_a_logout() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    events = w.set_status(1, State.OFFLINE, t=2)
    assert w.status(1) == (State.OFFLINE, None)
    assert [(e.thread_id, e.why) for e in of(ThreadRequeued, events)] == [(thread, "logout")]
    w.login(1, 3)
    assert w.state(1) is State.ACTIVE  # S5: back to the status before the logout


def test_s2_supervisor_forces_a_logout() -> None:
    w = World()
    w.ready(1)
    events = w.logout(1, t=5, by=SUPERVISOR)
    assert status_changes(events) == [StatusChanged(5, 1, State.ACTIVE, None, State.OFFLINE, None, SUPERVISOR)]


# -- S3 finishing ------------------------------------------------------------------


def test_s3_inactive_without_threads_goes_straight_to_inactive() -> None:
    w = World()
    w.ready(1)
    events = w.go_inactive(1, "lunch", t=5)
    assert w.status(1) == (State.INACTIVE, "lunch")
    assert status_changes(events) == [
        StatusChanged(5, 1, State.ACTIVE, None, State.INACTIVE, "lunch", Actor.agent(1)),
    ]


def test_s3_inactive_while_holding_threads_gives_finishing_with_the_reason() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "meeting", t=3)
    assert w.status(1) == (State.FINISHING, "meeting")
    assert w.held(1) == [thread]


def test_s3_finishing_agent_gets_no_new_threads() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "meeting", t=3)
    later = w.client_writes("c2", t=4)
    assert w.held(1) == [thread]
    assert w.queue() == [later]


def test_s3_finishing_goes_inactive_when_last_thread_closes() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "lunch", t=3)
    events = w.close(thread, t=10)
    assert w.status(1) == (State.INACTIVE, "lunch")
    assert status_changes(events) == [
        StatusChanged(10, 1, State.FINISHING, "lunch", State.INACTIVE, "lunch", Actor.system(WHY_FINISHING_COMPLETED))
    ]


def test_s3_finishing_stays_while_other_threads_remain() -> None:
    w = World()
    w.ready(1)
    first, second = w.client_writes("c1", t=1), w.client_writes("c2", t=1)
    w.answer(first, t=2)
    w.answer(second, t=2)
    w.go_inactive(1, "lunch", t=3)
    w.close(first, t=4)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.close(second, t=5)
    assert w.status(1) == (State.INACTIVE, "lunch")


def test_s3_finishing_goes_inactive_when_last_thread_is_transferred_away() -> None:
    w = World()
    w.ready(1)
    w.logged_in(2)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "lunch", t=3)
    events = w.transfer(thread, 2, t=4, by=Actor.agent(1))
    assert w.status(1) == (State.INACTIVE, "lunch")
    assert [e.actor for e in status_changes(events, 1)] == [Actor.system(WHY_FINISHING_COMPLETED)]


def test_s3_supervisor_asking_inactive_for_a_busy_agent_gives_finishing() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    events = w.go_inactive(1, "training", t=3, by=SUPERVISOR)
    assert status_changes(events) == [
        StatusChanged(3, 1, State.ACTIVE, None, State.FINISHING, "training", SUPERVISOR),
    ]


def test_s3_asking_another_reason_while_finishing_changes_the_reason_it_heads_to() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "lunch", t=3)
    events = w.go_inactive(1, "meeting", t=4)
    assert status_changes(events) == [
        StatusChanged(4, 1, State.FINISHING, "lunch", State.FINISHING, "meeting", Actor.agent(1)),
    ]
    w.close(thread, t=5)
    assert w.status(1) == (State.INACTIVE, "meeting")


def test_s3_asking_active_cancels_finishing() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "lunch", t=3)
    w.set_status(1, State.ACTIVE, t=4)
    w.close(thread, t=5)
    assert w.status(1) == (State.ACTIVE, None)


def test_s3_unanswered_threads_are_reclaimed_first_so_the_agent_goes_straight_inactive() -> None:
    w = World()
    w.ready(1, 2, capacity=1)
    mine = w.client_writes("c1", t=1)  # agent 1 (lower id)
    other = w.client_writes("c2", t=1)  # agent 2
    w.close(other, t=2)  # agent 2 has room again
    assert w.holder(mine) == 1
    events = w.go_inactive(1, "lunch", t=3)
    assert w.status(1) == (State.INACTIVE, "lunch")
    assert [e.to_state for e in status_changes(events, 1)] == [State.INACTIVE]
    assert w.holder(mine) == 2


def test_s3_transfer_into_a_finishing_agent_keeps_them_finishing_until_that_thread_closes() -> None:
    w = World()
    w.ready(1, 2)
    own = w.client_writes("c1", t=1)  # agent 1
    w.answer(own, t=2)
    w.go_inactive(1, "lunch", t=3)
    moved = w.client_writes("c2", t=4)  # agent 2: agent 1 is finishing
    assert w.holder(moved) == 2
    w.transfer(moved, 1, t=5)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.close(own, t=6)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.close(moved, t=7)
    assert w.status(1) == (State.INACTIVE, "lunch")


# -- S4 approval -------------------------------------------------------------------


def _exam_world() -> World:
    w = World()
    w.add_reason("exam", "Exam", requires_approval=True)
    return w


def test_s4_reason_requiring_approval_creates_a_request_instead_of_a_change() -> None:
    w = _exam_world()
    w.ready(1)
    events = w.go_inactive(1, "exam", t=5)
    assert of(ApprovalRequested, events) == [ApprovalRequested(5, 1, 1, State.INACTIVE, "exam")]
    assert status_changes(events) == []
    assert w.state(1) is State.ACTIVE
    assert w.agent(1).pending_request == 1
    assert list(w.ws.requests) == [1]


def test_s4_approving_applies_the_status_with_the_supervisor_as_setter() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    events = w.do(c.DecideApproval(1, True, SUPERVISOR), 8)
    assert of(ApprovalDecided, events) == [ApprovalDecided(8, 1, 1, True, SUPERVISOR)]
    assert status_changes(events) == [StatusChanged(8, 1, State.ACTIVE, None, State.INACTIVE, "exam", SUPERVISOR)]
    assert w.agent(1).pending_request is None


def test_s4_approving_for_an_agent_who_now_holds_threads_gives_finishing() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    thread = w.client_writes("c1", t=6)
    w.answer(thread, t=7)
    w.do(c.DecideApproval(1, True, SUPERVISOR), 8)
    assert w.status(1) == (State.FINISHING, "exam")
    w.close(thread, t=9)
    assert w.status(1) == (State.INACTIVE, "exam")


def test_s4_rejecting_leaves_the_status() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    events = w.do(c.DecideApproval(1, False, SUPERVISOR), 8)
    assert of(ApprovalDecided, events) == [ApprovalDecided(8, 1, 1, False, SUPERVISOR)]
    assert status_changes(events) == []
    assert w.state(1) is State.ACTIVE
    assert w.agent(1).pending_request is None


def test_s4_a_new_request_replaces_the_pending_one() -> None:
    w = _exam_world()
    w.add_reason("course", "Course", requires_approval=True)
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    events = w.go_inactive(1, "course", t=6)
    assert of(ApprovalCancelled, events) == [ApprovalCancelled(6, 1, 1, "replaced")]
    assert of(ApprovalRequested, events) == [ApprovalRequested(6, 2, 1, State.INACTIVE, "course")]
    assert list(w.ws.requests) == [2]
    assert w.agent(1).pending_request == 2
    with pytest.raises(NotFound):
        w.do(c.DecideApproval(1, True, SUPERVISOR), 7)


def test_s4_deciding_a_decided_request_is_not_found_and_changes_nothing() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    w.do(c.DecideApproval(1, False, SUPERVISOR), 6)
    before = snapshot(w.engine)
    with pytest.raises(NotFound) as refused:
        w.do(c.DecideApproval(1, True, SUPERVISOR), 6)
    assert refused.value.field == "request_id"
    assert snapshot(w.engine) == before


def test_s4_only_a_supervisor_or_admin_decides() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    with pytest.raises(Forbidden):
        w.do(c.DecideApproval(1, True, Actor.agent(1)), 6)
    assert w.agent(1).pending_request == 1
    assert w.state(1) is State.ACTIVE


def test_s4_a_supervisor_setting_a_reason_that_needs_approval_is_the_approval() -> None:
    w = _exam_world()
    w.ready(1)
    events = w.go_inactive(1, "exam", t=5, by=SUPERVISOR)
    assert of(ApprovalRequested, events) == []
    assert w.status(1) == (State.INACTIVE, "exam")


def test_s4_approving_a_status_the_agent_already_has_records_only_the_decision() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    w.go_inactive(1, "exam", t=6, by=SUPERVISOR)
    events = w.do(c.DecideApproval(1, True, SUPERVISOR), 7)
    assert of(ApprovalDecided, events) == [ApprovalDecided(7, 1, 1, True, SUPERVISOR)]
    assert status_changes(events) == []


def test_s4_request_cancelled_at_logout_and_a_later_decision_changes_nothing() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    events = w.logout(1, t=6)
    assert of(ApprovalCancelled, events) == [ApprovalCancelled(6, 1, 1, "logged_out")]
    before = snapshot(w.engine)
    with pytest.raises(NotFound) as refused:
        w.do(c.DecideApproval(1, True, SUPERVISOR), 6)
    assert refused.value.field == "request_id"
    assert snapshot(w.engine) == before
    assert w.state(1) is State.OFFLINE


def test_s4_request_needs_the_agent_logged_in() -> None:
    w = _exam_world()
    w.register(1)
    with pytest.raises(Conflict):
        w.go_inactive(1, "exam", t=1)
    assert w.ws.requests == {}


def test_s4_agent_may_change_status_while_the_request_stays_pending() -> None:
    w = _exam_world()
    w.ready(1)
    w.go_inactive(1, "exam", t=5)
    w.go_inactive(1, "short_break", t=6)
    w.set_status(1, State.ACTIVE, t=7)
    assert w.agent(1).pending_request == 1
    w.do(c.DecideApproval(1, True, SUPERVISOR), 8)
    assert w.status(1) == (State.INACTIVE, "exam")


# -- S5 login and logout -----------------------------------------------------------


def test_s5_first_login_gives_not_ready() -> None:
    w = World()
    w.register(1)
    events = w.login(1, 3)
    assert status_changes(events) == [
        StatusChanged(3, 1, State.OFFLINE, None, State.NOT_READY, None, Actor.system(WHY_LOGIN_RESTORE))
    ]


@pytest.mark.parametrize(
    ("state", "reason"),
    [(State.ACTIVE, None), (State.ACTIVE_OWN_CLIENTS, None), (State.NOT_READY, None), (State.INACTIVE, "lunch")],
)
def test_s5_login_restores_the_status_before_the_last_logout(state: State, reason: str | None) -> None:
    w = World()
    w.ready(1)
    if state is not State.ACTIVE:
        w.set_status(1, state, reason, t=1)
    w.logout(1, t=4)
    events = w.login(1, 5)
    assert w.status(1) == (state, reason)
    assert [e.actor for e in status_changes(events)] == [Actor.system(WHY_LOGIN_RESTORE)]


def test_s5_finishing_comes_back_as_its_inactive_reason() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "training", t=3)
    assert w.state(1) is State.FINISHING
    w.logout(1, t=4)
    w.login(1, 5)
    assert w.status(1) == (State.INACTIVE, "training")


def test_s5_kicked_out_comes_back_as_not_ready() -> None:
    w = World()
    w.ready(1)
    w.client_writes("c1", t=0)
    w.tick(60)  # S6: prompted
    w.tick(90)  # S6: kicked out
    assert w.state(1) is State.KICKED_OUT
    w.logout(1, t=100)
    w.login(1, 110)
    assert w.status(1) == (State.NOT_READY, None)


def test_s5_login_when_logged_in_changes_nothing() -> None:
    w = World()
    w.ready(1)
    before = snapshot(w.engine)
    assert w.login(1, 0) == []
    assert snapshot(w.engine) == before


def test_s5_logout_sets_offline() -> None:
    w = World()
    w.ready(1)
    events = w.logout(1, t=7)
    assert status_changes(events) == [StatusChanged(7, 1, State.ACTIVE, None, State.OFFLINE, None, Actor.agent(1))]


def test_s5_logout_requeues_held_threads_by_default() -> None:
    w = World()
    w.ready(1)
    answered = w.client_writes("c1", t=1)
    waiting = w.client_writes("c2", t=2)
    w.answer(answered, t=3)
    events = w.logout(1, t=4)
    assert sorted((e.thread_id, e.why) for e in of(ThreadRequeued, events)) == [
        (answered, "logout"),
        (waiting, "logout"),
    ]
    assert w.held(1) == []
    assert w.queue() == [answered, waiting]  # arrival order kept
    assert w.thread(answered).state is ThreadState.QUEUED


def test_s5_logout_requeue_goes_to_another_ready_agent() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.ready(2, t=3)
    events = w.logout(1, t=4)
    assert [(e.thread_id, e.agent_id) for e in of(ThreadAssigned, events)] == [(thread, 2)]


def test_s5_logout_requeues_even_when_nobody_is_eligible() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.logout(1, t=2)
    assert w.held(1) == []
    assert w.queue() == [thread]


def test_s5_logout_keep_keeps_answered_threads_and_reclaims_unanswered_ones() -> None:
    w = World(on_logout="keep")
    w.ready(1)
    w.ready(2, t=0, capacity=1)
    answered = w.client_writes("c1", t=1)  # agent 1
    w.client_writes("c2", t=1)  # agent 2, now full
    waiting = w.client_writes("c3", t=1)  # agent 1
    w.answer(answered, t=2)
    w.ready(3, t=3)
    events = w.logout(1, t=4)
    assert [(e.thread_id, e.why) for e in of(ThreadRequeued, events)] == [(waiting, "reclaimed")]
    assert w.held(1) == [answered]
    assert w.holder(waiting) == 3
    assert w.state(1) is State.OFFLINE


def test_s5_logout_keep_defers_the_reclaim_while_nobody_is_eligible() -> None:
    w = World(on_logout="keep")
    w.ready(1)
    waiting = w.client_writes("c1", t=1)
    events = w.logout(1, t=2)
    assert of(ThreadRequeued, events) == []
    assert w.held(1) == [waiting]
    w.ready(2, t=3)
    assert w.holder(waiting) == 2
    assert [(e.thread_id, e.why) for e in of(ThreadRequeued, w.log)] == [(waiting, "reclaimed")]


def test_s5_login_with_threads_kept_through_logout_finishes_them_before_the_break() -> None:
    """S5 restores the finishing agent's inactive reason; S3 then applies to the kept threads."""
    w = World(on_logout="keep")
    w.ready(1)
    kept = w.client_writes("c1", t=1)
    w.answer(kept, t=2)
    w.go_inactive(1, "lunch", t=3)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.logout(1, t=4)
    assert w.held(1) == [kept]
    w.login(1, t=5)
    assert w.status(1) == (State.FINISHING, "lunch")
    w.close(kept, t=6)
    assert w.status(1) == (State.INACTIVE, "lunch")


# -- S7 the status log -------------------------------------------------------------


def test_s7_a_change_records_agent_from_to_reason_who_and_when() -> None:
    w = World()
    w.logged_in(1)
    w.go_inactive(1, "lunch", t=12.5)
    (change,) = status_changes(w.last)
    assert change == StatusChanged(12.5, 1, State.NOT_READY, None, State.INACTIVE, "lunch", Actor.agent(1))
    assert change.name == "agent.status_changed"


def test_s7_a_supervisors_change_names_the_supervisor() -> None:
    w = World()
    w.logged_in(1)
    w.set_status(1, State.ACTIVE, t=3, by=SUPERVISOR)
    (change,) = status_changes(w.last)
    assert (change.actor.kind, change.actor.id) == ("supervisor", SUPERVISOR_ID)


def test_s7_system_changes_record_why() -> None:
    w = World()
    w.ready(1)  # login_restore
    first = w.client_writes("c1", t=1)
    w.answer(first, t=2)
    w.go_inactive(1, "lunch", t=3)
    w.close(first, t=4)  # finishing_completed
    w.set_status(1, State.ACTIVE, t=5)
    w.client_writes("c2", t=5)
    w.tick(65)
    w.tick(95)  # kicked_out
    system = [(e.to_state, e.actor.why) for e in status_changes(w.log, 1) if e.actor.kind == "system"]
    assert system == [
        (State.NOT_READY, WHY_LOGIN_RESTORE),
        (State.INACTIVE, WHY_FINISHING_COMPLETED),
        (State.KICKED_OUT, WHY_KICKED_OUT),
    ]
    assert all(e.actor.id is None for e in status_changes(w.log) if e.actor.kind == "system")


def test_s7_the_log_is_a_gapless_chain_of_every_change() -> None:
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=1)
    w.answer(thread, t=2)
    w.go_inactive(1, "lunch", t=3)
    w.go_inactive(1, "meeting", t=4)
    w.close(thread, t=5)
    w.set_status(1, State.ACTIVE_OWN_CLIENTS, t=6, by=SUPERVISOR)
    w.logout(1, t=7)
    w.login(1, 8)
    log = status_changes(w.log, 1)
    assert [(e.to_state, e.to_reason) for e in log] == [
        (State.NOT_READY, None),
        (State.ACTIVE, None),
        (State.FINISHING, "lunch"),
        (State.FINISHING, "meeting"),
        (State.INACTIVE, "meeting"),
        (State.ACTIVE_OWN_CLIENTS, None),
        (State.OFFLINE, None),
        (State.ACTIVE_OWN_CLIENTS, None),
    ]
    assert [(e.from_state, e.from_reason) for e in log[1:]] == [(e.to_state, e.to_reason) for e in log[:-1]]
    assert [e.at for e in log] == [0, 0, 3, 4, 5, 6, 7, 8]
    assert (w.agent(1).since, w.agent(1).set_by) == (8, Actor.system(WHY_LOGIN_RESTORE))


def test_s7_the_log_never_runs_backwards_when_the_callers_clock_does() -> None:
    w = World()
    w.logged_in(1, t=100)
    w.set_status(1, State.ACTIVE, t=50)  # a caller's clock stepped back
    (change,) = status_changes(w.last)
    assert change.at == 100
    assert w.agent(1).since == 100
