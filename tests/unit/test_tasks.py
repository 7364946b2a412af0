"""Stopping background tasks (service/_tasks.py) and telling what each task waits on
(task_dump.py)."""

from __future__ import annotations

import asyncio

import pytest

from onduty import task_dump
from onduty.service._in_order import InOrderDelivery
from onduty.service._tasks import cancelled
from tests.unit.list_journal import ListJournal


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


async def test_a_caller_cancelled_while_it_waits_for_tasks_to_stop_stops_too() -> None:
    """A role change that stops tasks, itself stopped meanwhile, must not carry on; every
    task it was stopping has been asked to stop all the same."""
    stopping = asyncio.Event()
    went_on = False

    async def caller(*tasks: asyncio.Task[None]) -> None:
        nonlocal went_on
        await cancelled(*tasks)
        went_on = True  # reached only if the caller's own cancellation was swallowed

    first = asyncio.create_task(_slow_to_stop(stopping))
    second = asyncio.create_task(_slow_to_stop(asyncio.Event()))
    await asyncio.sleep(0)
    outer = asyncio.create_task(caller(first, second))
    await stopping.wait()  # the caller is waiting inside cancelled(first, second)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert not went_on
    stopped, _ = await asyncio.wait([first, second], timeout=2)
    assert len(stopped) == 2 and first.cancelled() and second.cancelled()


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


async def test_a_task_cancelled_as_the_wake_it_waits_for_comes_stops() -> None:
    """A loop that waits for a wake-up with a time limit, woken and cancelled in the same
    turn of the event loop, stops. (Python 3.11's `asyncio.wait_for` returned the wake-up
    and lost the cancellation there: the fan-out's pump, the ownership's pause and the
    follower's first connection ran on, and a stop waited for them for ever. The code waits
    with `asyncio.timeout`; ruff's TID251 keeps `wait_for` out of src/.)"""
    delivery = InOrderDelivery(ListJournal(), lambda batch: None, poll_every=3600)
    pump = asyncio.create_task(delivery.run())
    await asyncio.sleep(0.01)  # the pump waits for its wake-up
    delivery.catch_up()  # sets the wake-up...
    pump.cancel()  # ...and cancels the pump, before either is seen
    stopped, _ = await asyncio.wait([pump], timeout=2)
    assert stopped and pump.cancelled()
