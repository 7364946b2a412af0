"""The simulator: determinism, validation, bookkeeping, and the engine against a textbook queue."""

from __future__ import annotations

import dataclasses
import math

import pytest

from onduty.sim.bare import bare_mmn
from onduty.sim.config import STRATEGIES, SimConfig, SimConfigError, SimResult
from onduty.sim.simulator import simulate

SMALL = SimConfig(agents=4, arrivals_per_hour=40, handle_time=300, hours=4)


def figures(result: SimResult) -> tuple[float, ...]:
    return (
        result.threads,
        result.waited_fraction,
        result.mean_wait_seconds,
        result.max_wait_seconds,
        result.service_level,
        result.occupancy,
    )


def test_the_same_seed_gives_the_same_result() -> None:
    assert simulate(SMALL) == simulate(SMALL)


def test_another_seed_gives_another_run() -> None:
    assert figures(simulate(SMALL)) != figures(simulate(dataclasses.replace(SMALL, seed=2)))


@pytest.mark.parametrize("capacity", [1, 3])
def test_r1_r7_the_engine_runs_the_textbook_queue_thread_for_thread(capacity: int) -> None:
    """With the same random draws, the engine's waits are exactly those of a first-come-first-served
    M/M/N queue that never leaves a server idle while a thread waits: R1 (oldest first) and R7
    (the router runs after every command), with agents x capacity servers (R2)."""
    config = SimConfig(agents=5, capacity=capacity, arrivals_per_hour=55 * capacity, handle_time=300, hours=30)
    result = simulate(config)
    assert result.threads > 1000
    assert figures(result) == pytest.approx(figures(bare_mmn(config)), rel=1e-9)


@pytest.mark.parametrize("capacity", [1, 2])
def test_r2_r7_the_strategy_changes_who_but_not_how_long_threads_wait(capacity: int) -> None:
    """Every strategy hands a waiting thread to somebody the moment anyone has room, so with
    the same draws the waits and the occupancy are the same whichever agent gets the thread."""
    runs = [
        simulate(SimConfig(agents=6, capacity=capacity, arrivals_per_hour=60 * capacity, hours=20, strategy=strategy))
        for strategy in STRATEGIES
    ]
    assert len({figures(run) for run in runs}) == 1


def test_every_thread_that_arrives_reaches_an_agent_once() -> None:
    result = simulate(SMALL)
    assert result.threads > 100
    assert result.answered == result.threads
    # Closes still pending when the last thread is assigned are dropped, never counted twice.
    assert result.threads - SMALL.servers <= result.closed <= result.answered
    assert 0.0 <= result.waited_fraction <= 1.0
    # A thread that never waited met any target.
    assert result.service_level >= 1.0 - result.waited_fraction
    assert 0.0 < result.occupancy <= 1.0


def test_an_overloaded_run_goes_on_until_the_queue_is_empty() -> None:
    config = SimConfig(agents=2, arrivals_per_hour=60, handle_time=300, hours=2)  # 5 erlangs on 2 servers
    result = simulate(config)
    assert result.erlang_c.overloaded
    assert result.answered == result.threads
    assert result.end_seconds > config.horizon  # the last waiting threads were assigned after arrivals stopped
    assert result.occupancy > 0.95


def test_a_run_without_any_thread_has_defined_figures() -> None:
    result = simulate(SimConfig(arrivals_per_hour=1e-6, hours=1))
    assert result.threads == result.answered == 0
    assert (result.waited_fraction, result.mean_wait_seconds, result.service_level, result.occupancy) == (
        0.0,
        0.0,
        1.0,
        0.0,
    )


def test_progress_follows_simulated_time_to_the_end() -> None:
    calls: list[tuple[float, float]] = []
    simulate(
        SimConfig(agents=20, arrivals_per_hour=200, hours=100), progress=lambda done, total: calls.append((done, total))
    )
    assert len(calls) > 2
    assert all(total == 100 * 3600.0 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert done[-1] == 100 * 3600.0


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("agents", 0),
        ("agents", 2.5),
        ("arrivals_per_hour", 0),
        ("arrivals_per_hour", -10),
        ("handle_time", 0),
        ("handle_time", math.inf),
        ("hours", -1),
        ("hours", math.nan),
        ("capacity", 0),
        ("capacity", 10_000),
        ("target_seconds", -1),
        ("strategy", "fastest"),
        ("seed", "one"),
    ],
)
def test_a_bad_option_is_refused_by_name(option: str, value: object) -> None:
    with pytest.raises(SimConfigError, match=rf"^{option} ") as refused:
        SimConfig(**{option: value})  # type: ignore[arg-type]
    assert refused.value.option == option


def test_a_zero_target_is_allowed() -> None:
    result = simulate(dataclasses.replace(SMALL, target_seconds=0))
    assert result.service_level == pytest.approx(1.0 - result.waited_fraction)
