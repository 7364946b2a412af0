"""The crash tests' auditor (tests/integration/crash_audit.py) catches what it is there to
catch: each audit given a small history with one fault in it names that fault, and passes
the same history without it. An audit that could not fail would prove nothing."""

from __future__ import annotations

from typing import Any

from tests.integration import crash_audit as audit
from tests.integration.crash_site import Ack, Person, iso

ANN = Person(7, "ann", "agent", "t-ann")
SUE = Person(9, "sue", "supervisor", "t-sue")
T0 = 1_800_000_000.0


def row(
    row_id: int, at: float, before: str, after: str, kind: str = "agent", actor_id: int | None = 7
) -> dict[str, Any]:
    why = "kicked_out" if kind == "system" else None
    return {
        "id": row_id,
        "at": iso(at),
        "agent_id": ANN.id,
        "from": {"state": before, "reason": None},
        "to": {"state": after, "reason": None},
        "actor": {"kind": kind, "id": actor_id, "name": None, "why": why},
    }


def status(state: str, at: float, kind: str = "agent", actor_id: int | None = 7) -> dict[str, Any]:
    return {"state": state, "reason": None, "label": state, "since": iso(at), "set_by": {"kind": kind, "id": actor_id}}


def put(who: Person, path: str, state: str, sent: float, received: float, answer: dict[str, Any]) -> Ack:
    return Ack(who, "PUT", path, {"state": state}, sent, received, 200, answer, 1)


LOG = [
    row(1, T0, "offline", "not_ready", "system", None),
    row(2, T0 + 1.0, "not_ready", "active"),
    row(3, T0 + 2.0, "active", "not_ready", "supervisor", 9),
]


def test_an_answer_showing_a_status_no_row_set_is_named() -> None:
    log = audit.StatusLog(LOG)
    saved = put(ANN, "/me/status", "active", T0 + 0.999, T0 + 1.01, status("active", T0 + 1.0))
    unsaved = put(ANN, "/me/status", "active", T0 + 2.5, T0 + 2.6, status("inactive", T0 + 2.55))
    problems, checked = audit.answers_show_only_what_was_saved([saved, unsaved], log)
    assert checked == 2
    assert len(problems) == 1
    assert "no log row set" in problems[0] and "'state': 'inactive'" in problems[0]


def test_an_answer_showing_a_saved_status_that_was_no_longer_in_effect_is_named() -> None:
    """Row 2 was saved, but replaced by row 3 before this request was even sent."""
    log = audit.StatusLog(LOG)
    stale = put(ANN, "/me/status", "active", T0 + 3.0, T0 + 3.1, status("active", T0 + 1.0))
    problems, _ = audit.answers_show_only_what_was_saved([stale], log)
    assert len(problems) == 1
    assert "not in effect" in problems[0]


def test_an_acknowledged_status_change_missing_from_the_log_is_named_and_a_no_op_is_not() -> None:
    log = audit.StatusLog(LOG)
    kept = put(
        SUE, "/agents/7/status", "not_ready", T0 + 1.99, T0 + 2.01, status("not_ready", T0 + 2.0, "supervisor", 9)
    )
    already = put(
        SUE, "/agents/7/status", "not_ready", T0 + 3.0, T0 + 3.1, status("not_ready", T0 + 2.0, "supervisor", 9)
    )
    lost = put(ANN, "/me/status", "active", T0 + 4.0, T0 + 4.1, status("active", T0 + 4.05))
    problems, checked = audit.acknowledged_writes_kept([kept, already, lost], log, [], {}, {})
    assert checked == 3
    assert len(problems) == 1
    assert "status change not in the status log" in problems[0] and "sent 1800000004.000" in problems[0]


def test_a_lost_client_message_and_a_lost_close_are_named() -> None:
    integration = Person(3, "webchat", "integration", "t-w")
    thread = {"id": 5, "state": "in_progress", "agent_id": 7, "messages": [{"author": "client", "text": "hello"}]}
    acks = [
        Ack(integration, "POST", "/threads", {"client_id": "c", "text": "hello"}, T0, T0 + 0.1, 200, {"id": 5}, 1),
        Ack(integration, "POST", "/threads", {"client_id": "c", "text": "again"}, T0, T0 + 0.1, 200, {"id": 5}, 1),
        Ack(ANN, "POST", "/threads/5/close", None, T0, T0 + 0.1, 200, {"id": 5}, 1),
    ]
    problems, _ = audit.acknowledged_writes_kept(acks, audit.StatusLog([]), [], {5: thread}, {})
    assert [p.split(":")[0] for p in problems] == ["client message lost", "close lost (thread is in_progress)"]


def event(event_id: int, name: str, **data: Any) -> dict[str, Any]:
    return {"id": event_id, "name": name, "at": iso(T0 + event_id), "data": data}


def test_a_thread_assigned_while_held_is_named_and_r7_compares_the_journal_with_the_rows() -> None:
    journal = [
        event(1, "thread.created", thread_id=1, client_id="c", priority=0, reserved_for=None),
        event(2, "thread.assigned", thread_id=1, agent_id=7),
        event(3, "thread.assigned", thread_id=1, agent_id=8),
    ]
    problems, holders = audit.one_holder_per_thread(journal)
    assert problems == ["event 3: thread 1 assigned to 8 while 7 holds it"]
    threads = {1: {"id": 1, "state": "assigned", "agent_id": 7, "messages": []}}
    agents = [{"id": 7, "username": "ann", "threads": 1, "capacity": 2, "status": {"state": "active"}}]
    r7 = audit.r7_now(holders, threads, agents, {"length": 0, "items": []})
    assert r7 == ["thread 1 is held by 7; the journal says 8"]


def test_r7_names_a_thread_waiting_while_an_active_agent_has_room_and_a_lost_thread() -> None:
    journal = [
        event(1, "thread.created", thread_id=1, client_id="c", priority=0, reserved_for=None),
        event(2, "thread.created", thread_id=2, client_id="d", priority=0, reserved_for=None),
    ]
    problems, holders = audit.one_holder_per_thread(journal)
    assert problems == []
    threads = {1: {"id": 1, "state": "queued", "agent_id": None, "messages": []}}
    agents = [{"id": 7, "username": "ann", "threads": 0, "capacity": 2, "status": {"state": "active"}}]
    r7 = audit.r7_now(holders, threads, agents, {"length": 1, "items": [{"id": 1}]})
    assert r7 == [
        "thread 2 is lost: created in the journal, not in the database",
        "1 threads wait in the queue while ['ann'] are active with room (R7)",
    ]


def test_a_status_log_row_that_does_not_follow_the_last_is_named() -> None:
    broken = [*LOG, row(4, T0 + 3.0, "active", "inactive")]
    problems = audit.status_log_is_a_chain(audit.StatusLog(broken))
    assert len(problems) == 1 and problems[0].startswith("agent 7: #4")
    assert audit.status_log_is_a_chain(audit.StatusLog(LOG)) == []
