"""The asyncio tasks of this process's running loop as text (task_dump.py's reading), for a
test's report when it waited too long: what each task is suspended in and what it awaits."""

from __future__ import annotations

import asyncio

from onduty import task_dump


def tasks_text() -> str:
    loop = asyncio._get_running_loop()  # also from a signal handler, which interrupts the loop
    lines = ["asyncio tasks:"]
    for name, coroutines in task_dump.described(loop):
        lines.append(f"task {name}")
        lines.extend(f"  {line}" for line in coroutines)
    return "\n".join(lines) + "\n"
