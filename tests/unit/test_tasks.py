"""Stopping background tasks (service/_tasks.py) and telling what each task waits on
(task_dump.py)."""

from __future__ import annotations

import asyncio

import pytest

from onduty import task_dump
from onduty.service._tasks import cancelled


async def _slow_to_stop(stopping: asyncio.Event) -> None:
    """A task that takes a moment to wind down once cancelled (as one closing a connection)."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        stopping.set()
        await asyncio.sleep(0.2)
        raise


async def test_cancelled_swallows_the_tasks_own_cancellation() -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await cancelled(task)
    assert task.cancelled()


async def test_a_caller_cancelled_while_it_waits_for_a_task_to_stop_stops_too() -> None:
    """A role change that stops a task, itself stopped meanwhile, must not carry on."""
    stopping = asyncio.Event()
    went_on = False

    async def caller(task: asyncio.Task[None]) -> None:
        nonlocal went_on
        await cancelled(task)
        went_on = True  # reached only if the caller's own cancellation was swallowed

    inner = asyncio.create_task(_slow_to_stop(stopping))
    await asyncio.sleep(0)
    outer = asyncio.create_task(caller(inner))
    await stopping.wait()  # the caller is waiting inside cancelled(inner)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert not went_on
    assert inner.cancelled()


async def test_the_dump_names_each_coroutine_a_task_is_suspended_in_and_what_it_awaits() -> None:
    gate = asyncio.Event()

    async def innermost() -> None:
        await gate.wait()

    async def middle() -> None:
        await innermost()

    waited_on = asyncio.create_task(middle(), name="waited-on")

    async def outer() -> None:
        await waited_on

    waiting = asyncio.create_task(outer(), name="waiting")
    await asyncio.sleep(0)
    try:
        stack = task_dump.describe(waited_on)
        functions = [line.rsplit(" in ", 1)[1] for line in stack if " in " in line]
        assert functions[:3] == ["middle", "innermost", "wait"]  # Event.wait, awaiting a future
        assert stack[-1].startswith("awaits <Future pending")
        assert task_dump.describe(waiting)[-1] == "awaits task waited-on"
    finally:
        gate.set()
        await asyncio.gather(waited_on, waiting)
