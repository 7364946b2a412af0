"""S10: a reason may carry max_minutes; an agent longer than that in it is overdue, said once.

Times in seconds; `lunch` limited to 30 minutes (1800 s) unless a test says otherwise.
"""

from __future__ import annotations

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.events import AgentOverdue, Event, StatusChanged
from onduty.domain.reasons import MAX_MINUTES
from onduty.domain.restore import restore, take_snapshot
from onduty.domain.types import State
from onduty.service.queries import agents, floor
from tests.unit.engine_helpers import SUPERVISOR, World, of

LUNCH = 30 * 60.0


def _lunch_world(minutes: int | None = 30) -> World:
    w = World()
    w.do(c.ChangeReason("lunch", max_minutes=minutes), 0)
    w.logged_in(1, 2)
    return w


def _overdue(events: list[Event]) -> list[tuple[int, str, float, int, float]]:
    return [(e.agent_id, e.reason, e.since, e.max_minutes, e.at) for e in of(AgentOverdue, events)]


def test_s10_overdue_once_after_max_minutes_in_the_break_and_nothing_else_changes() -> None:
    w = _lunch_world()
    w.go_inactive(1, "lunch", t=100)
    assert (w.agent(1).overdue_at, w.agent(1).overdue) == (100 + LUNCH, False)
    assert w.next_deadline() == 100 + LUNCH
    assert w.tick(100 + LUNCH - 1) == []
    events = w.tick(100 + LUNCH)
    assert _overdue(events) == [(1, "lunch", 100, 30, 100 + LUNCH)]
    assert of(StatusChanged, events) == []  # nothing else changes
    assert w.status(1) == (State.INACTIVE, "lunch") and w.agent(1).overdue
    assert w.next_deadline() is None
    assert w.tick(100 + 10 * LUNCH) == []  # said once


def test_s10_counts_from_entering_inactive_not_from_finishing_towards_it() -> None:
    w = _lunch_world()
    w.set_status(1, State.ACTIVE, t=0)
    thread = w.client_writes("c1", t=0)
    w.answer(thread, t=1)
    w.go_inactive(1, "lunch", t=10)
    assert w.state(1) is State.FINISHING and w.agent(1).overdue_at is None
    w.close(thread, t=500)
    assert w.status(1) == (State.INACTIVE, "lunch")
    assert w.agent(1).overdue_at == 500 + LUNCH
    assert _overdue(w.tick(500 + LUNCH)) == [(1, "lunch", 500, 30, 500 + LUNCH)]


def test_s10_leaving_the_break_ends_it_and_a_new_break_starts_afresh() -> None:
    w = _lunch_world()
    w.go_inactive(1, "lunch", t=0)
    w.tick(LUNCH)
    w.set_status(1, State.NOT_READY, t=LUNCH + 5)
    assert (w.agent(1).overdue, w.agent(1).overdue_at) == (False, None)
    w.go_inactive(1, "lunch", t=LUNCH + 10)
    assert w.agent(1).overdue_at == 2 * LUNCH + 10
    assert _overdue(w.tick(2 * LUNCH + 10)) == [(1, "lunch", LUNCH + 10, 30, 2 * LUNCH + 10)]


def test_s10_leaving_before_the_limit_cancels_the_timer() -> None:
    w = _lunch_world()
    w.go_inactive(1, "lunch", t=0)
    w.set_status(1, State.ACTIVE, t=60)
    assert w.tick(LUNCH) == [] and not w.agent(1).overdue
    w.go_inactive(1, "short_break", t=LUNCH + 1)  # no limit there
    assert w.agent(1).overdue_at is None and w.next_deadline() is None


def test_s10_a_limit_changed_moves_the_moment_for_whoever_is_in_the_break() -> None:
    w = _lunch_world(minutes=None)
    w.go_inactive(1, "lunch", t=0)
    w.go_inactive(2, "short_break", t=0)
    assert w.agent(1).overdue_at is None
    # Set to 10 minutes after 15 minutes in it: overdue at once, in the same step.
    events = w.do(c.ChangeReason("lunch", max_minutes=10), 900)
    assert _overdue(events) == [(1, "lunch", 0, 10, 900)]
    assert w.agent(1).overdue_at == 600 and w.agent(2).overdue_at is None
    # Raised past the time taken: no longer overdue, until the new moment, said again then.
    w.do(c.ChangeReason("lunch", max_minutes=20), 950)
    assert (w.agent(1).overdue, w.agent(1).overdue_at) == (False, 1200)
    assert _overdue(w.tick(1200)) == [(1, "lunch", 0, 20, 1200)]
    # Cleared: no limit, nobody overdue; a relabel alone changes nothing of it.
    w.do(c.ChangeReason("lunch", clear_max_minutes=True), 1300)
    assert (w.agent(1).overdue, w.agent(1).overdue_at) == (False, None)
    w.do(c.ChangeReason("lunch", max_minutes=5), 1400)
    w.do(c.ChangeReason("lunch", label="Lunch"), 1500)
    assert w.agent(1).overdue and _overdue(w.last) == []


def test_s10_a_retired_reason_keeps_its_limit_for_those_still_in_it() -> None:
    w = _lunch_world()
    w.go_inactive(1, "lunch", t=0)
    w.do(c.RetireReason("lunch"), 10)
    assert _overdue(w.tick(LUNCH)) == [(1, "lunch", 0, 30, LUNCH)]


def test_s10_a_limit_is_a_whole_number_of_minutes_within_a_week() -> None:
    w = World()
    for bad in (0, -5, MAX_MINUTES + 1, 2.5, True, "30"):
        with pytest.raises(DomainError) as refused:
            w.do(c.AddReason("coaching", "Coaching", max_minutes=bad), 0)  # type: ignore[arg-type]
        assert refused.value.field == "max_minutes"
        with pytest.raises(DomainError):
            w.do(c.ChangeReason("lunch", max_minutes=bad), 0)  # type: ignore[arg-type]
    with pytest.raises(DomainError):
        w.do(c.ChangeReason("lunch", max_minutes=5, clear_max_minutes=True), 0)
    assert w.ws.reasons.existing("lunch").max_minutes is None and w.ws.reasons.get("coaching") is None
    w.do(c.AddReason("coaching", "Coaching", max_minutes=MAX_MINUTES), 0)
    assert w.ws.reasons.existing("coaching").max_minutes == MAX_MINUTES
    with pytest.raises(DomainError):
        w.do(c.AddReason("overdue", "Overdue"), 0)  # the name of the W2 filter


def test_s10_an_agent_overdue_before_a_restart_stays_overdue_and_is_not_told_again() -> None:
    w = _lunch_world()
    w.go_inactive(1, "lunch", t=0)
    w.go_inactive(2, "lunch", t=100)
    w.tick(LUNCH)  # agent 1 overdue; agent 2 not yet
    back = restore(take_snapshot(w.engine))
    assert back.workspace.agents[1].overdue and back.workspace.agents[1].overdue_at == LUNCH
    assert not back.workspace.agents[2].overdue
    # Agent 2's moment fell while the service was down: told once, when it is back.
    late = back.tick(LUNCH + 500)
    assert _overdue(late) == [(2, "lunch", 100, 30, LUNCH + 500)]
    assert back.tick(LUNCH + 1000) == []


def test_s10_w2_w5_overdue_is_a_filter_and_a_count() -> None:
    w = _lunch_world()
    w.go_inactive(1, "lunch", t=0)
    w.go_inactive(2, "lunch", t=600)
    w.tick(LUNCH)
    assert [row["id"] for row in agents(None, "overdue")(w.ws)] == [1]
    row = agents(None, "lunch")(w.ws)[0]
    assert (row["overdue"], row["overdue_at"]) == (True, "1970-01-01T00:30:00.000Z")
    counts = floor(None, LUNCH)(w.ws)["counts"]
    assert (counts["overdue"], counts["inactive:lunch"], counts["inactive:meeting"]) == (1, 2, 0)
    w.set_status(1, State.ACTIVE, t=LUNCH + 1, by=SUPERVISOR)
    assert agents(None, "overdue")(w.ws) == []
