"""W5's "today": the day's service so far, for a team or the whole floor, kept a few seconds.

The figures are the workload report's (reports/workload.py, one read for both): threads
received and answered, the mean time to the first answer, and the service level, the
share of threads received that reached the agent within `service_level_target` seconds
of their arrival. A few thousand dashboards may poll the floor every few seconds; they
share one read per scope for `TODAY_SECONDS`, and while it runs, those who ask wait for
it rather than start their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from onduty.reports.workload import RECEIVED_WITHIN, Totals
from onduty.storage.activity import ANSWERED, RECEIVED

TODAY_SECONDS = 5.0  # how long one read serves a scope (docs/rules.md, W5)

# (teams or None, the day's start, the target): one scope's figures.
Key = tuple[tuple[str, ...] | None, float, float]


def today_view(totals: Totals, target: float) -> dict[str, Any]:
    received, answered = totals.counts[RECEIVED], totals.counts[ANSWERED]
    return {
        "received": received,
        "answered": answered,
        "mean_first_answer_seconds": totals.view()["mean_first_answer_seconds"],
        "service_level": round(totals.counts[RECEIVED_WITHIN] / received, 4) if received else None,
        "service_level_target": target,
    }


class TodayCache:
    """Each scope's figures, read at most once per `seconds` (by `clock`, monotonic)."""

    def __init__(self, seconds: float = TODAY_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._kept: dict[Key, tuple[float, asyncio.Task[dict[str, Any]]]] = {}

    async def get(self, key: Key, read: Callable[[], Coroutine[Any, Any, dict[str, Any]]]) -> dict[str, Any]:
        now = self._clock()
        kept = self._kept.get(key)
        if kept is None or now - kept[0] >= self.seconds:
            if len(self._kept) > 1000:  # scopes by days by targets: the stale ones go now and then
                self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.seconds}
            task = asyncio.create_task(read())
            task.add_done_callback(lambda done: self._forget_failed(key, done))
            kept = self._kept[key] = (now, task)
        # Shielded: a caller who goes away does not cancel the read the others wait for.
        return await asyncio.shield(kept[1])

    def _forget_failed(self, key: Key, task: asyncio.Task[dict[str, Any]]) -> None:
        """A read that failed is not kept: the next caller tries again."""
        if task.cancelled() or task.exception() is not None:
            kept = self._kept.get(key)
            if kept is not None and kept[1] is task:
                del self._kept[key]
