"""What every asyncio task of a running server is waiting on, written to the log on SIGUSR1.

A process that stops making progress without using the CPU (an instance that never
finishes taking over, a stop that never ends) shows nothing to py-spy but an idle event
loop: the answer is in the tasks' suspended coroutines. `kill -USR1 <pid>` logs one
record per task with the chain of coroutines it is suspended in, innermost last, and
what the innermost one awaits. The dump runs on the loop, between callbacks; a loop
stuck in a callback never gets to it, and py-spy is the tool for that case.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

import structlog

log = structlog.get_logger("onduty.tasks")


def ignore(signum: int = signal.SIGUSR1) -> None:
    """Until the loop takes it (`install`) and after (`uninstall`): a dump asked for while
    the server migrates or shuts down is ignored, where the default action would end it."""
    signal.signal(signum, signal.SIG_IGN)


def install(loop: asyncio.AbstractEventLoop, signum: int = signal.SIGUSR1) -> None:
    """Dump the tasks on `signum`. Only the main thread may take signals: elsewhere (an
    app run inside a test's loop on another thread) nothing is installed."""
    try:
        loop.add_signal_handler(signum, dump, loop)
    except (RuntimeError, ValueError, NotImplementedError):
        return


def uninstall(loop: asyncio.AbstractEventLoop, signum: int = signal.SIGUSR1) -> None:
    try:
        loop.remove_signal_handler(signum)
        ignore(signum)
    except (RuntimeError, ValueError, NotImplementedError):
        return


def dump(loop: asyncio.AbstractEventLoop) -> None:
    tasks = described(loop)
    log.warning("asyncio tasks", count=len(tasks))
    for name, coroutines in tasks:
        log.warning("task", name=name, coroutines=coroutines)


def described(loop: asyncio.AbstractEventLoop | None) -> list[tuple[str, list[str]]]:
    """Every task of `loop` by name, with `describe`'s lines."""
    tasks = sorted(asyncio.all_tasks(loop) if loop is not None else (), key=lambda task: task.get_name())
    return [(task.get_name(), describe(task)) for task in tasks]


def describe(task: asyncio.Task[Any]) -> list[str]:
    """The task's coroutines from outermost to innermost (`file:line in function`), then
    what it is blocked on: another task by name, or a future."""
    frames = _suspended(task.get_coro())
    lines = [f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}" for frame in frames]
    # The future a task is blocked on is only kept by the task (the coroutine holds an
    # iterator over it); CPython's attribute, read defensively.
    blocked = getattr(task, "_fut_waiter", None)
    if isinstance(blocked, asyncio.Task):
        lines.append(f"awaits task {blocked.get_name()}")
    elif blocked is not None:
        lines.append(f"awaits {blocked!r}")
    return lines


def _suspended(coro: Any) -> Iterator[FrameType]:
    """Each frame of the await chain, outermost first."""
    while coro is not None:
        frame = _first(coro, "cr_frame", "gi_frame", "ag_frame")
        if frame is None:
            return
        yield frame
        coro = _first(coro, "cr_await", "gi_yieldfrom", "ag_await")


def _first(thing: Any, *names: str) -> Any:
    """The first of the attributes `names` that `thing` has and is not None (coroutines,
    generators and async generators name the same things differently)."""
    for name in names:
        value = getattr(thing, name, None)
        if value is not None:
            return value
    return None
