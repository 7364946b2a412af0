"""Failed sign-ins per username and per address (service/sign_in_limits.py): a sliding window,
attempts counted from the moment they are let through, memory bounded."""

from __future__ import annotations

import pytest

from onduty.service.clock import ManualClock
from onduty.service.sign_in_limits import FailedSignIns, SignInLimits, TooManyFailures

LIMITS = SignInLimits(failures_per_username=3, failures_per_address=5, window_seconds=100.0)


def refusal(failures: FailedSignIns, username: str, address: str = "198.51.100.1") -> TooManyFailures:
    with pytest.raises(TooManyFailures) as refused:
        failures.start(username, address)
    return refused.value


def test_the_defaults_are_five_per_username_and_twenty_per_address_in_fifteen_minutes() -> None:
    assert SignInLimits() == SignInLimits(failures_per_username=5, failures_per_address=20, window_seconds=900.0)


def test_a_username_is_refused_until_its_oldest_counted_failure_is_a_window_old() -> None:
    """The window slides: each failure ages out on its own, letting one more try through."""
    clock = ManualClock()
    failures = FailedSignIns(LIMITS, clock.now)
    failures.start("ann", "a1")
    clock.advance(40)
    failures.start("ann", "a2")
    failures.start("ann", "a3")
    refused = refusal(failures, "ann", "a4")
    assert (refused.by, refused.retry_after) == ("username", 60)
    clock.advance(59.5)
    assert refusal(failures, "ann").retry_after == 1  # whole seconds, rounded up
    clock.advance(0.5)
    failures.start("ann", "a5")  # the first failure aged out: one more try
    assert refusal(failures, "ann").retry_after == 40


def test_an_address_is_refused_after_its_limit_whatever_the_usernames() -> None:
    clock = ManualClock()
    failures = FailedSignIns(LIMITS, clock.now)
    for i in range(5):
        failures.start(f"user{i}", "198.51.100.7")
    refused = refusal(failures, "someone-else", "198.51.100.7")
    assert (refused.by, refused.retry_after) == ("address", 100)
    failures.start("someone-else", "198.51.100.8")  # another address is its own count


def test_a_refused_attempt_does_not_count() -> None:
    """Trying on while refused neither extends the wait nor fills the window further."""
    clock = ManualClock()
    failures = FailedSignIns(LIMITS, clock.now)
    for _ in range(3):
        failures.start("ann", "a")
    for _ in range(10):
        refusal(failures, "ann")
        clock.advance(5)
    assert refusal(failures, "ann").retry_after == 50


def test_attempts_count_as_failures_from_the_moment_they_are_let_through() -> None:
    """Attempts started together, none checked yet, cannot exceed the limit."""
    failures = FailedSignIns(LIMITS, ManualClock().now)
    for _ in range(3):
        failures.start("ann", "a")
    assert refusal(failures, "ann").by == "username"


def test_a_success_clears_the_username_and_takes_back_only_its_own_attempt_from_the_address() -> None:
    clock = ManualClock()
    failures = FailedSignIns(LIMITS, clock.now)
    for _ in range(2):
        failures.start("ann", "a")
    failures.succeeded(failures.start("ann", "a"))
    for _ in range(2):
        failures.start("bob", "a")
    # ann's failures are gone; the address still holds ann's two and bob's two failures
    failures.start("ann", "a")
    assert refusal(failures, "carl", "a").by == "address"


def test_memory_is_bounded_forgetting_the_least_recently_failed_first() -> None:
    clock = ManualClock()
    failures = FailedSignIns(LIMITS, clock.now, max_keys=3)
    for _ in range(3):
        failures.start("ann", "a1")
    for name, address in (("bob", "a2"), ("carl", "a3")):
        failures.start(name, address)
    refusal(failures, "ann", "a9")
    failures.start("bob", "a2")  # bob failed since: ann is now the least recent
    failures.start("dan", "a4")
    assert failures.tracked() == (3, 3)
    failures.start("ann", "a1")  # forgotten, so let through again


@pytest.mark.parametrize(
    "limits",
    [
        {"failures_per_username": 0},
        {"failures_per_address": 0},
        {"window_seconds": 0.0},
    ],
)
def test_limits_must_be_positive(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        SignInLimits(**limits)  # type: ignore[arg-type]
