"""The service's clock: the one place that reads the time (the engine never does)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class RealClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told: tests of S6 and R4 timers through the API."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, instant: float) -> None:
        """Jump to `instant`; time never runs backwards."""
        self._now = max(self._now, instant)
