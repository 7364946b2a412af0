"""What a simulation is asked to run, what it answers, and its random streams.

These classes check options given by people, naming the option that is wrong.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from onduty.domain.settings import MAX_CAPACITY
from onduty.domain.types import Strategy
from onduty.sim.erlang import ErlangC, predict

STRATEGIES: tuple[str, ...] = tuple(s.value for s in Strategy)


class SimConfigError(ValueError):
    """A configuration the simulator refuses; `option` names the offending field."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option} {problem}")
        self.option = option
        self.problem = problem


@dataclass(frozen=True, slots=True)
class SimConfig:
    agents: int = 10
    arrivals_per_hour: float = 100.0
    handle_time: float = 300.0  # mean seconds, exponential
    hours: float = 8.0
    capacity: int = 1  # threads per agent
    target_seconds: float = 20.0  # service-level target
    strategy: str = "least_busy"
    seed: int = 1

    def __post_init__(self) -> None:
        _whole("agents", self.agents, 1, None)
        _whole("capacity", self.capacity, 1, MAX_CAPACITY)
        _whole("seed", self.seed, None, None)
        _positive("arrivals_per_hour", self.arrivals_per_hour)
        _positive("handle_time", self.handle_time)
        _positive("hours", self.hours)
        if not _number(self.target_seconds) or self.target_seconds < 0:
            raise SimConfigError("target_seconds", f"must be zero or more seconds, got {self.target_seconds!r}")
        if self.strategy not in STRATEGIES:
            raise SimConfigError("strategy", f"must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")

    @property
    def servers(self) -> int:
        return self.agents * self.capacity

    @property
    def horizon(self) -> float:
        """Seconds during which clients arrive."""
        return self.hours * 3600.0

    def erlang_c(self) -> ErlangC:
        return predict(self.servers, self.arrivals_per_hour / 3600.0, self.handle_time, self.target_seconds)


@dataclass(frozen=True, slots=True)
class SimResult:
    config: SimConfig
    threads: int  # arrived
    answered: int  # reached an agent
    closed: int
    waited_fraction: float  # assigned strictly after arriving
    mean_wait_seconds: float  # arrival to assignment, over all threads
    max_wait_seconds: float
    service_level: float  # assigned within target_seconds
    occupancy: float  # time average over [0, hours] of threads held / (agents x capacity)
    end_seconds: float  # virtual time when the last thread reached an agent
    erlang_c: ErlangC

    def as_dict(self) -> dict[str, object]:
        return {
            "threads": self.threads,
            "answered": self.answered,
            "closed": self.closed,
            "waited_fraction": self.waited_fraction,
            "mean_wait_seconds": self.mean_wait_seconds,
            "max_wait_seconds": self.max_wait_seconds,
            "service_level": self.service_level,
            "occupancy": self.occupancy,
            "end_seconds": self.end_seconds,
            "config": {
                "agents": self.config.agents,
                "arrivals_per_hour": self.config.arrivals_per_hour,
                "handle_time": self.config.handle_time,
                "hours": self.config.hours,
                "capacity": self.config.capacity,
                "target_seconds": self.config.target_seconds,
                "strategy": self.config.strategy,
                "seed": self.config.seed,
            },
            "erlang_c": self.erlang_c.as_dict(),
        }


def random_streams(seed: int) -> tuple[random.Random, random.Random]:
    """The run's randomness: gaps between arrivals, and handling times drawn as threads are
    assigned. Two streams, so the arrivals stay the same whatever the routing does with them."""
    return random.Random(f"onduty-sim:{seed}:arrivals"), random.Random(f"onduty-sim:{seed}:handling")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive(option: str, value: float) -> None:
    if not _number(value) or value <= 0:
        raise SimConfigError(option, f"must be a number greater than 0, got {value!r}")


def _whole(option: str, value: int, low: int | None, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimConfigError(option, f"must be a whole number, got {value!r}")
    if low is not None and value < low:
        raise SimConfigError(option, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise SimConfigError(option, f"must be at most {high}, got {value}")
