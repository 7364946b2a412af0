"""Stopping background tasks: cancel them, then wait until every one has stopped."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

log = structlog.get_logger("onduty.tasks")


async def cancelled(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancels every task first, then waits until they have all stopped: one stop cut short
    never leaves another task uncancelled. A task's own cancellation ends here; the caller's
    does not (cancelled while it waits, say a role change being stopped in turn, it stops
    too rather than carry on). A task that had failed is logged, not raised: its failure
    was not the stopper's."""
    stopping = [task for task in tasks if task is not None]
    for task in stopping:
        task.cancel()
    if stopping:
        await asyncio.wait(stopping)
    for task in stopping:
        if not task.cancelled() and task.exception() is not None:
            log.error("a background task had failed", task=task.get_name(), exc_info=task.exception())
