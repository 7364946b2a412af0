"""Stopping a background task: cancel it, then wait until it has stopped."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancelled(task: asyncio.Task[Any] | None) -> None:
    """The task's own cancellation is swallowed; the caller's is not: a caller cancelled
    while it waits here (a stop inside a role change being stopped in turn) must stop
    too, or it would carry on as if nothing had been asked of it."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
