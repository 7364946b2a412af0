"""What the routes read from the database beyond the live workspace (`Node.read`): threads
with their messages, approval requests, the reports, the journal's backlog, and whether the
database answers. People and their credentials are accounts.py's.

The web layer reaches the database through these two alone, never the store, so that the
same routes run on the owner and on a follower: every instance reads the one database's
committed rows. Answers are in the API's shapes (row_views.py, the reports), as the
workspace's queries answer (queries.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from onduty.domain import commands as c
from onduty.domain import validate
from onduty.journal import StoredEvent
from onduty.reports import status_log
from onduty.reports.status_log import Cursor, LogFilter
from onduty.reports.workload_report import WorkloadRows, scope_totals, workload_rows
from onduty.service.floor_today import TodayCache, today_view
from onduty.service.row_views import approval_view, thread_view
from onduty.storage.store import SqlStore

__all__ = ["Cursor", "LogFilter", "Page", "Reads", "WorkloadRows"]


@dataclass(frozen=True, slots=True)
class Page:
    """Part of a list read in id order: `next` is this page's last id when another may follow."""

    items: list[dict[str, Any]]
    next: int | None


class Reads:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.today_cache = TodayCache()

    # -- threads and approvals --------------------------------------------------------

    async def threads(
        self, *, state: str | None, agent_ids: list[int] | None, include_queue: bool, after: int, limit: int
    ) -> Page:
        """Threads (with messages) held by `agent_ids` (anyone's when None), and queued ones
        for them when `include_queue`."""
        rows, messages = await self._store.threads_page(
            state=state, agent_ids=agent_ids, include_queue=include_queue, after=after, limit=limit
        )
        return Page([thread_view(r, messages[r.id]) for r in rows], rows[-1].id if len(rows) == limit else None)

    async def thread(
        self, thread_id: int, *, agent_ids: list[int] | None = None, include_queue: bool = True
    ) -> dict[str, Any] | None:
        """One thread with its messages; None unless held by one of `agent_ids` (anyone when
        None) or, with `include_queue`, queued for them."""
        rows, messages = await self._store.threads_page(
            state=None, agent_ids=agent_ids, include_queue=include_queue, thread_id=thread_id
        )
        return thread_view(rows[0], messages[rows[0].id]) if rows else None

    async def client_message_thread(self, command: c.ReceiveClientMessage) -> int | None:
        """The thread a client's message went to (the latest with its very text), even once
        closed: the answer to the message sent again under its idempotency key."""
        client_id, text, _ = validate.client_message(command)
        return await self._store.client_message_thread(client_id, text)

    async def message_thread(self, message_id: int) -> int | None:
        """The thread a message was written in; None when there is no such message (R8)."""
        return await self._store.message_thread(message_id)

    async def approvals(self, *, state: str | None, agent_ids: list[int] | None) -> list[dict[str, Any]]:
        """Approval requests (S4) of `agent_ids` (anyone's when None), in this state (any when None)."""
        return [approval_view(r) for r in await self._store.approvals(state=state, agent_ids=agent_ids)]

    async def approval(self, request_id: int) -> dict[str, Any] | None:
        row = await self._store.approval(request_id)
        return None if row is None else approval_view(row)

    # -- reports ----------------------------------------------------------------------

    async def status_log(self, selection: LogFilter, cursor: Cursor, *, limit: int) -> Page:
        """The status log (P1), a page at a time: newest first, or oldest first from `after`."""
        items, following = await status_log.page(self._store, selection, cursor, limit=limit)
        return Page(items, following)

    def status_log_csv(self, selection: LogFilter, cursor: Cursor) -> AsyncIterator[str]:
        """The status log (P1) as CSV lines, the header first; read page by page as it is sent."""
        return status_log.csv_lines(self._store, selection, cursor)

    async def workload(self, *, start: float, end: float, teams: list[str] | None) -> WorkloadRows:
        """The workload report's rows (P2) over [start, end), for these teams (None: all)."""
        return await workload_rows(self._store, start=start, end=end, teams=teams)

    async def floor_today(self, *, start: float, end: float, teams: list[str] | None, target: float) -> dict[str, Any]:
        """W5's day so far over [start, end) for these teams (None: all): the workload report's
        totals and the service level against `target` seconds. One read per scope serves every
        dashboard for a few seconds (floor_today.py); `end` is the first asker's."""

        async def read() -> dict[str, Any]:
            totals = await scope_totals(self._store, start=start, end=end, teams=teams, within=target)
            return today_view(totals, target)

        key = (None if teams is None else tuple(sorted(teams)), start, target)
        return await self.today_cache.get(key, read)

    # -- the journal and the database ---------------------------------------------------

    async def events_after(self, after: int, limit: int) -> list[StoredEvent]:
        """The journal's events after this id, oldest first: what a reconnecting stream missed."""
        return await self._store.events_after(after, limit)

    async def ping(self) -> None:
        """Returns when the database answers; raises whatever the driver raised when not."""
        await self._store.ping()

    @property
    def dialect(self) -> str:
        """sqlite or postgresql."""
        return self._store.db.dialect
