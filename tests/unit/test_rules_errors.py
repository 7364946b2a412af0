"""Bad input: every refused command raises a DomainError naming the field, and changes nothing.

PRODUCT.md, "Everywhere": bad input gets a clear 4xx error naming the field and
the rule, never a 500, and changes nothing. Case ids carry the rule they guard.
"""

from __future__ import annotations

from typing import Any

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import Conflict, DomainError, Forbidden, NotFound
from onduty.domain.types import Actor, State, Strategy
from tests.unit.engine_helpers import SUPERVISOR, World, snapshot

SYSTEM = Actor.system("test")
NOW = 60.0


def _busy_world() -> World:
    """A workspace with something of everything, at t=60.

    agent 1: active, full (capacity 3): thread 2 answered, threads 3 and 4 unanswered
    agent 2: inactive (lunch)
    agent 3: not_ready, pending approval request 1 (exam)
    agent 4: registered, never logged in (offline)
    agent 5: active, capacity 1, holds thread 1 unanswered since 0: prompted at 60
    thread 5: queued. Messages: 1 in thread 1; 2, 3 in thread 2; 4, 5, 6 in threads 3, 4, 5.
    reasons: exam (requires approval), old (retired).
    """
    w = World()
    w.add_reason("exam", "Exam", requires_approval=True)
    w.add_reason("old", "Old")
    w.do(c.RetireReason("old"), 0)
    w.ready(5, capacity=1)
    w.client_writes("p", t=0)
    w.logged_in(2)
    w.go_inactive(2, "lunch", t=0)
    w.logged_in(3)
    w.go_inactive(3, "exam", t=0)
    w.register(4)
    w.ready(1)
    answered = w.client_writes("c1", t=50)
    w.answer(answered, t=50)
    for client in ("c2", "c3", "c4"):
        w.client_writes(client, t=50)
    w.tick(NOW)
    assert [w.held(a) for a in (1, 5)] == [[2, 3, 4], [1]]
    assert w.queue() == [5]
    assert w.agent(5).prompt_deadline == 90
    assert list(w.ws.requests) == [1]
    return w


def test_the_busy_world_is_as_described() -> None:
    w = _busy_world()
    assert [w.status(a) for a in range(1, 6)] == [
        (State.ACTIVE, None),
        (State.INACTIVE, "lunch"),
        (State.NOT_READY, None),
        (State.OFFLINE, None),
        (State.ACTIVE, None),
    ]
    assert [w.messages(t) for t in range(1, 6)] == [[1], [2, 3], [4], [5], [6]]


def _case(case_id: str, command: c.Command, error: type[DomainError], field: str, code: str | None = None) -> Any:
    return pytest.param(command, error, field, code, id=case_id)


CASES = [
    # RegisterAgent
    _case("register-duplicate-id", c.RegisterAgent(1, "support"), Conflict, "agent_id"),
    _case("register-empty-team", c.RegisterAgent(9, ""), DomainError, "team"),
    _case("register-blank-team", c.RegisterAgent(9, "   "), DomainError, "team"),
    _case("register-long-team", c.RegisterAgent(9, "x" * 81), DomainError, "team"),
    _case("register-capacity-zero", c.RegisterAgent(9, "support", capacity=0), DomainError, "capacity"),
    _case("register-capacity-too-big", c.RegisterAgent(9, "support", capacity=1001), DomainError, "capacity"),
    _case("register-capacity-bool", c.RegisterAgent(9, "support", capacity=True), DomainError, "capacity"),
    # ChangeAgent
    _case("change-agent-unknown", c.ChangeAgent(99, team="x"), NotFound, "agent_id"),
    _case("change-agent-empty-team", c.ChangeAgent(1, team=""), DomainError, "team"),
    _case("R2-change-agent-capacity-bool", c.ChangeAgent(1, capacity=True), DomainError, "capacity"),
    _case("R2-change-agent-capacity-float", c.ChangeAgent(1, capacity=2.0), DomainError, "capacity"),  # type: ignore[arg-type]
    _case("change-agent-team-not-text", c.ChangeAgent(1, team=5), DomainError, "team"),  # type: ignore[arg-type]
    _case("R2-change-agent-capacity-zero", c.ChangeAgent(1, capacity=0), DomainError, "capacity"),
    _case("change-agent-good-team-bad-capacity", c.ChangeAgent(1, team="sales", capacity=-1), DomainError, "capacity"),
    # Login, Logout
    _case("S5-login-unknown-agent", c.Login(99), NotFound, "agent_id"),
    _case("S5-logout-unknown-agent", c.Logout(99, Actor.agent(99)), NotFound, "agent_id"),
    _case("S2-logout-another-agent", c.Logout(1, Actor.agent(2)), Forbidden, "agent_id"),
    _case("S2-supervisor-logs-out-offline-agent", c.Logout(4, SUPERVISOR), Conflict, "agent_id"),
    _case("S2-system-logout", c.Logout(1, SYSTEM), Forbidden, "actor"),
    # SetStatus
    _case("S2-status-unknown-agent", c.SetStatus(99, State.ACTIVE, None, Actor.agent(99)), NotFound, "agent_id"),
    _case("S2-agent-sets-kicked_out", c.SetStatus(1, State.KICKED_OUT, None, Actor.agent(1)), Forbidden, "state"),
    _case("S2-supervisor-sets-kicked_out", c.SetStatus(1, State.KICKED_OUT, None, SUPERVISOR), Forbidden, "state"),
    _case(
        "S3-finishing-asked-directly", c.SetStatus(1, State.FINISHING, "lunch", Actor.agent(1)), DomainError, "state"
    ),
    _case("S1-inactive-without-reason", c.SetStatus(1, State.INACTIVE, None, Actor.agent(1)), DomainError, "reason"),
    _case(
        "S1-unknown-reason",
        c.SetStatus(1, State.INACTIVE, "nap", Actor.agent(1)),
        DomainError,
        "reason",
        "unknown_reason",
    ),
    _case(
        "S1-retired-reason",
        c.SetStatus(1, State.INACTIVE, "old", Actor.agent(1)),
        DomainError,
        "reason",
        "reason_retired",
    ),
    _case(
        "S1-retired-reason-by-prompted-agent",
        c.SetStatus(5, State.INACTIVE, "old", Actor.agent(5)),
        DomainError,
        "reason",
        "reason_retired",
    ),
    _case("S2-reason-with-active", c.SetStatus(1, State.ACTIVE, "lunch", Actor.agent(1)), DomainError, "reason"),
    _case("S2-another-agents-status", c.SetStatus(1, State.NOT_READY, None, Actor.agent(2)), Forbidden, "agent_id"),
    _case("S2-supervisor-on-offline-agent", c.SetStatus(4, State.ACTIVE, None, SUPERVISOR), Conflict, "agent_id"),
    _case("S2-system-sets-status", c.SetStatus(1, State.NOT_READY, None, SYSTEM), Forbidden, "actor"),
    _case("S4-offline-agent-asks-approval", c.SetStatus(4, State.INACTIVE, "exam", Actor.agent(4)), Conflict, "state"),
    # DecideApproval
    _case("S4-decide-unknown-request", c.DecideApproval(99, True, SUPERVISOR), NotFound, "request_id"),
    _case("S4-agent-decides", c.DecideApproval(1, True, Actor.agent(3)), Forbidden, "request_id"),
    _case("S4-system-decides", c.DecideApproval(1, True, SYSTEM), Forbidden, "request_id"),
    # ContinueWorking
    _case("S6-continue-unknown-agent", c.ContinueWorking(99), NotFound, "agent_id"),
    _case("S6-continue-without-prompt", c.ContinueWorking(1), Conflict, "agent_id", "not_prompted"),
    # ReceiveClientMessage
    _case("R1-empty-client", c.ReceiveClientMessage("", "hi"), DomainError, "client_id"),
    _case("R1-blank-client", c.ReceiveClientMessage("  ", "hi"), DomainError, "client_id"),
    _case("R1-long-client", c.ReceiveClientMessage("x" * 201, "hi"), DomainError, "client_id"),
    _case("R1-empty-text", c.ReceiveClientMessage("new", ""), DomainError, "text"),
    _case("R1-blank-text", c.ReceiveClientMessage("new", " \n "), DomainError, "text"),
    _case("R1-long-text", c.ReceiveClientMessage("new", "x" * 10_001), DomainError, "text"),
    _case("R1-empty-text-to-open-thread", c.ReceiveClientMessage("c1", ""), DomainError, "text"),
    _case("R1-priority-too-high", c.ReceiveClientMessage("new", "hi", 1001), DomainError, "priority"),
    _case("R1-priority-too-low", c.ReceiveClientMessage("new", "hi", -1001), DomainError, "priority"),
    _case("R1-priority-bool", c.ReceiveClientMessage("new", "hi", True), DomainError, "priority"),
    # Answer
    _case("answer-unknown-thread", c.Answer(99, 1, "hi"), NotFound, "thread_id"),
    _case("answer-empty-text", c.Answer(3, 1, ""), DomainError, "text"),
    _case("answer-empty-text-by-prompted-agent", c.Answer(1, 5, ""), DomainError, "text"),
    _case("answer-not-holder", c.Answer(3, 2, "hi"), Forbidden, "thread_id"),
    _case("answer-queued-thread", c.Answer(5, 1, "hi"), Forbidden, "thread_id"),
    # CloseThread
    _case("close-unknown-thread", c.CloseThread(99, SUPERVISOR), NotFound, "thread_id"),
    _case("close-not-holder", c.CloseThread(3, Actor.agent(2)), Forbidden, "thread_id"),
    _case("close-by-system", c.CloseThread(3, SYSTEM), Forbidden, "actor"),
    # Transfer
    _case("R3-transfer-unknown-thread", c.Transfer(99, 2, SUPERVISOR), NotFound, "thread_id"),
    _case("R3-transfer-unknown-agent", c.Transfer(3, 99, SUPERVISOR), NotFound, "agent_id"),
    _case("R3-transfer-by-non-holder", c.Transfer(3, 2, Actor.agent(2)), Forbidden, "thread_id"),
    _case("R3-agent-transfers-queued-thread", c.Transfer(5, 2, Actor.agent(1)), Forbidden, "thread_id"),
    _case("R3-transfer-to-holder", c.Transfer(3, 1, SUPERVISOR), Conflict, "agent_id"),
    _case("R3-transfer-by-system", c.Transfer(3, 2, SYSTEM), Forbidden, "actor"),
    # PinMessage
    _case("R8-pin-unknown-thread", c.PinMessage(99, 1, 1, message_thread_id=1), NotFound, "thread_id"),
    _case("R8-pin-by-non-holder", c.PinMessage(2, 2, 5, message_thread_id=2), Forbidden, "thread_id"),
    _case("R8-pin-queued-thread", c.PinMessage(5, 6, 1, message_thread_id=5), Forbidden, "thread_id"),
    _case("R8-pin-message-of-another-thread", c.PinMessage(2, 4, 1, message_thread_id=3), NotFound, "message_id"),
    _case("R8-pin-unknown-message", c.PinMessage(2, 999, 1, message_thread_id=None), NotFound, "message_id"),
    _case(
        "R8-unpin-message-of-another-thread",
        c.PinMessage(2, 4, 1, pinned=False, message_thread_id=3),
        NotFound,
        "message_id",
    ),
    # AddReason
    _case("S1-add-reason-uppercase-code", c.AddReason("Nap", "Nap"), DomainError, "code"),
    _case("S1-add-reason-empty-code", c.AddReason("", "Nap"), DomainError, "code"),
    _case("S1-add-reason-code-starts-with-digit", c.AddReason("1nap", "Nap"), DomainError, "code"),
    _case("S1-add-reason-code-with-dash", c.AddReason("nap-time", "Nap"), DomainError, "code"),
    _case("S1-add-reason-long-code", c.AddReason("n" * 41, "Nap"), DomainError, "code"),
    _case("S1-add-reason-existing-code", c.AddReason("lunch", "Lunch"), Conflict, "code"),
    _case("S1-add-reason-retired-code", c.AddReason("old", "Old again"), Conflict, "code"),
    _case("S1-add-reason-empty-label", c.AddReason("nap", ""), DomainError, "label"),
    _case("S1-add-reason-blank-label", c.AddReason("nap", "   "), DomainError, "label"),
    _case("S1-add-reason-long-label", c.AddReason("nap", "x" * 81), DomainError, "label"),
    # ChangeReason, RetireReason
    _case("S1-change-unknown-reason", c.ChangeReason("nap", label="Nap"), NotFound, "code"),
    _case("S1-relabel-empty", c.ChangeReason("lunch", label=""), DomainError, "label"),
    _case("S1-relabel-too-long", c.ChangeReason("lunch", label="x" * 81, requires_approval=True), DomainError, "label"),
    _case("S1-retire-unknown-reason", c.RetireReason("nap"), NotFound, "code"),
    _case("S1-retire-retired-reason", c.RetireReason("old"), Conflict, "code"),
    # ChangeSettings
    _case("settings-unknown-name", c.ChangeSettings({"speed": 1}), DomainError, "speed"),
    _case("S6-response-timeout-zero", c.ChangeSettings({"response_timeout": 0}), DomainError, "response_timeout"),
    _case("S6-response-timeout-text", c.ChangeSettings({"response_timeout": "60"}), DomainError, "response_timeout"),
    _case("S6-response-timeout-bool", c.ChangeSettings({"response_timeout": True}), DomainError, "response_timeout"),
    _case(
        "S6-response-timeout-too-long",
        c.ChangeSettings({"response_timeout": 30 * 24 * 3600 + 1}),
        DomainError,
        "response_timeout",
    ),
    _case("S6-prompt-timeout-negative", c.ChangeSettings({"prompt_timeout": -1}), DomainError, "prompt_timeout"),
    _case("R4-affinity-wait-negative", c.ChangeSettings({"affinity_wait": -1}), DomainError, "affinity_wait"),
    _case(
        "R4-affinity-timeout-negative",
        c.ChangeSettings({"client_affinity_timeout": -5}),
        DomainError,
        "client_affinity_timeout",
    ),
    _case("R2-unknown-strategy", c.ChangeSettings({"strategy": "fastest"}), DomainError, "strategy"),
    _case("S5-unknown-on-logout", c.ChangeSettings({"on_logout": "drop"}), DomainError, "on_logout"),
    _case("R2-default-capacity-zero", c.ChangeSettings({"default_capacity": 0}), DomainError, "default_capacity"),
    _case("R2-default-capacity-fraction", c.ChangeSettings({"default_capacity": 2.5}), DomainError, "default_capacity"),
    _case("R2-default-capacity-too-big", c.ChangeSettings({"default_capacity": 1001}), DomainError, "default_capacity"),
    _case(
        "settings-one-good-one-bad",
        c.ChangeSettings({"strategy": "round_robin", "default_capacity": 10, "response_timeout": 0}),
        DomainError,
        "response_timeout",
    ),
]


@pytest.mark.parametrize(("command", "error", "field", "code"), CASES)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    command: c.Command, error: type[DomainError], field: str, code: str | None
) -> None:
    w = _busy_world()
    before = snapshot(w.engine)
    with pytest.raises(DomainError) as refused:
        w.do(command, NOW)
    assert isinstance(refused.value, error), f"{type(refused.value).__name__}: {refused.value.message}"
    assert refused.value.field == field
    assert refused.value.message
    if code is not None:
        assert refused.value.code == code
    assert snapshot(w.engine) == before


def test_error_classes_have_stable_codes() -> None:
    assert (DomainError("x").code, NotFound("x").code, Conflict("x").code, Forbidden("x").code) == (
        "invalid",
        "not_found",
        "conflict",
        "forbidden",
    )


def test_s4_deciding_twice_is_refused_and_changes_nothing() -> None:
    w = _busy_world()
    w.do(c.DecideApproval(1, True, SUPERVISOR), NOW)
    before = snapshot(w.engine)
    with pytest.raises(NotFound) as refused:
        w.do(c.DecideApproval(1, False, SUPERVISOR), NOW)
    assert refused.value.field == "request_id"
    assert snapshot(w.engine) == before


def test_closing_a_closed_thread_is_refused_and_changes_nothing() -> None:
    w = _busy_world()
    w.close(2, t=NOW)
    before = snapshot(w.engine)
    with pytest.raises(NotFound) as refused:
        w.do(c.CloseThread(2, SUPERVISOR), NOW)
    assert refused.value.field == "thread_id"
    assert snapshot(w.engine) == before


def test_a_refused_command_leaves_the_engine_working() -> None:
    w = _busy_world()
    with pytest.raises(DomainError):
        w.do(c.ChangeSettings({"strategy": "round_robin", "response_timeout": 0}), NOW)
    assert w.ws.settings.strategy is Strategy.LEAST_BUSY
    w.close(2, t=NOW)  # agent 1 has room: the queued thread goes to them
    assert w.holder(5) == 1
    w.tick(90)
    assert w.state(5) is State.KICKED_OUT  # S6 still runs


def test_a_refused_command_does_not_move_the_engine_clock() -> None:
    """Bad input changes nothing, the engine's clock included."""
    w = World()
    w.ready(1, t=0)
    before = snapshot(w.engine)
    with pytest.raises(DomainError):
        w.do(c.SetStatus(1, State.KICKED_OUT, None, Actor.agent(1)), t=500)
    assert snapshot(w.engine) == before
    assert w.ws.clock == 0
