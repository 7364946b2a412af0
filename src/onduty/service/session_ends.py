"""This instance following the sessions ended anywhere (storage/ended_sessions.py): every
second, the rows after the last one it saw, each handed on: a session ended (drop its token
from the cache, close its streams) or a user's cached tokens to drop.

It runs on every instance, alone or among others: one code path, and its cost is one
indexed query a second. An instance alone applies its own sign-outs at once and then a
second time from the record, which changes nothing. It starts at the record's last row: a
new instance's cache is empty, and nothing before concerns it.

A failed read (the database away for a moment) is logged and tried again at the next
second, from where it stopped; what it missed meanwhile is applied then. Rows are kept
longer than any cache holds a token, so an instance that could not read for that long has
forgotten those tokens anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from onduty.service._tasks import cancelled
from onduty.storage.ended_sessions import READ_BATCH, EndedSessions

log = structlog.get_logger("onduty.session_ends")

EVERY = 1.0  # seconds between reads: a sign-out elsewhere takes effect here within it


class SessionEnds:
    def __init__(
        self,
        ended: EndedSessions,
        *,
        on_session: Callable[[str], object],
        on_user: Callable[[int], object],
        every: float = EVERY,
        batch: int = READ_BATCH,
    ) -> None:
        self.ended = ended
        self._on_session, self._on_user = on_session, on_user
        self._every, self._batch = every, batch
        self.last_id = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.last_id = await self.ended.last_id()
        self._task = asyncio.create_task(self._follow(), name="onduty-session-ends")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancelled(task)

    async def catch_up(self) -> int:
        """Applies every row after the last one seen; how many there were."""
        applied = 0
        while True:
            rows = await self.ended.after(self.last_id, self._batch)
            for row in rows:
                if row.token_hash is not None:
                    self._on_session(row.token_hash)
                if row.user_id is not None:
                    self._on_user(row.user_id)
                self.last_id = row.id
            applied += len(rows)
            if len(rows) < self._batch:
                return applied

    async def _follow(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.catch_up()
            except Exception as error:
                if not failing:  # once per outage, not once a second
                    log.warning("cannot read the sessions ended; trying again", error=repr(error))
                failing = True
            else:
                if failing:
                    log.info("reading the sessions ended again", last_id=self.last_id)
                failing = False
