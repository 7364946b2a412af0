"""W5: the day's figures are read once per scope for a few seconds, however many dashboards ask."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from onduty.service.floor_today import TodayCache

KEY = (("a",), 0.0, 20.0)


class Reader:
    """A read of the day that counts how often it ran and answers its count."""

    def __init__(self) -> None:
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def __call__(self) -> dict[str, Any]:
        self.reads += 1
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("the database is away")
        return {"read": self.reads}


async def test_w5_one_read_per_scope_serves_every_asker_for_a_few_seconds() -> None:
    now = [100.0]
    cache = TodayCache(seconds=5.0, clock=lambda: now[0])
    read = Reader()
    read.gate.clear()
    askers = [asyncio.create_task(cache.get(KEY, read)) for _ in range(50)]  # all while it runs
    await asyncio.sleep(0)
    read.gate.set()
    assert [await a for a in askers] == [{"read": 1}] * 50
    now[0] += 4.9
    assert await cache.get(KEY, read) == {"read": 1}
    assert await cache.get((None, 0.0, 20.0), read) == {"read": 2}  # another scope: its own read
    now[0] += 0.1
    assert await cache.get(KEY, read) == {"read": 3}  # kept 5 s, no longer


async def test_w5_a_failed_read_is_not_kept_and_a_caller_gone_does_not_cancel_it() -> None:
    cache = TodayCache(seconds=5.0, clock=lambda: 0.0)
    read = Reader()
    read.fail = True
    with pytest.raises(ConnectionError):
        await cache.get(KEY, read)
    read.fail = False
    read.gate.clear()
    impatient = asyncio.create_task(cache.get(KEY, read))
    patient = asyncio.create_task(cache.get(KEY, read))
    await asyncio.sleep(0)
    impatient.cancel()
    read.gate.set()
    assert await patient == {"read": 2}
    assert impatient.cancelled()
