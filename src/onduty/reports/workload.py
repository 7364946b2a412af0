"""The workload report (P2): per agent, time in each status, thread counts, occupancy.

Everything comes from `agent_activity`. Each of its rows ends a span: the
agent's previous condition (state, reason, threads held) lasted from
`prev_at` to the row's time. So the report sums spans by the condition they
describe (clipped to the period's start) and counts what happened, plus one
indexed look-up per agent for the span still open at the end, which counts
up to the end (or now, whichever comes first). An agent counts from their
registration: before it they have no row.

The rows of the UTC days wholly inside the period are read as their daily
sums (`agent_activity_days`, written with the rows); only the part days at
the period's edges are read row by row. A daily sum holds its spans whole,
so the one span per agent that crosses the period's start, if it ends in a
whole day, is clipped afterwards (`_CROSSING`): an agent's rows follow each
other in time (the engine's clock never runs backwards), so only the first
row after the start can begin before it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from onduty.storage.activity import ANSWERED, DAY, RECEIVED, day_of
from onduty.storage.store import SqlStore

WORKING = ("active", "active_own_clients", "finishing")
RECEIVED_WITHIN = "received_within"  # threads received within the service level's target (W5)

# Spans that end in [lo, hi), clipped to the period's start, and what happened, in one pass.
_ENDED = text(
    """
    SELECT agent_id, prev_state, prev_reason, kind,
           COUNT(*) AS n,
           SUM(seconds) AS answer_seconds,
           SUM(CASE WHEN prev_at IS NULL THEN 0
                    WHEN prev_at > :start THEN at - prev_at
                    ELSE at - :start END) AS span,
           SUM(CASE WHEN prev_at IS NULL OR prev_held = 0 THEN 0
                    WHEN prev_at > :start THEN at - prev_at
                    ELSE at - :start END) AS holding
    FROM agent_activity
    WHERE at >= :lo AND at < :hi
    GROUP BY agent_id, prev_state, prev_reason, kind
    """
)

# The same for whole days [first, last), from their sums; '' stands for no previous state.
_DAYS = text(
    """
    SELECT agent_id, prev_state, prev_reason, kind,
           SUM(n) AS n, SUM(answer_seconds) AS answer_seconds, SUM(span) AS span, SUM(holding) AS holding
    FROM agent_activity_days
    WHERE day >= :first AND day < :last
    GROUP BY agent_id, prev_state, prev_reason, kind
    """
)

# Each agent's first row at or after the start, where it is among the daily sums read (in
# [:whole, :until)) and its span began before the start: the part before the start comes off.
_CROSSING = text(
    """
    SELECT a.agent_id, a.prev_at, a.prev_state, a.prev_reason, a.prev_held
    FROM agents ag
    JOIN agent_activity a ON a.id = (
        SELECT b.id FROM agent_activity b
        WHERE b.agent_id = ag.id AND b.at >= :start
        ORDER BY b.at, b.id
        LIMIT 1
    )
    WHERE a.at >= :whole AND a.at < :until AND a.prev_at < :start
    """
)

# W5's service level: each agent's threads received in [start, end) that reached them within
# :target seconds of the thread's arrival (its `created_at`, which a requeue keeps).
_WITHIN = text(
    """
    SELECT a.agent_id, COUNT(*) AS n
    FROM agent_activity a
    JOIN threads t ON t.id = a.thread_id
    WHERE a.kind = 'received' AND a.at >= :start AND a.at < :end AND a.at - t.created_at <= :target
    GROUP BY a.agent_id
    """
)

# The span still open at the end: each agent's last row before it.
_OPEN = text(
    """
    SELECT a.agent_id, a.at, a.state, a.reason, a.held
    FROM agents ag
    JOIN agent_activity a ON a.id = (
        SELECT b.id FROM agent_activity b
        WHERE b.agent_id = ag.id AND b.at < :end
        ORDER BY b.at DESC, b.id DESC
        LIMIT 1
    )
    """
)


@dataclass(slots=True)
class Totals:
    time_in_status: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    answer_seconds: float = 0.0
    working: float = 0.0  # time active, active_own_clients or finishing
    holding: float = 0.0  # of which, holding at least one thread

    def span(self, state: str, reason: str | None, seconds: float, holding: float) -> None:
        """A stretch of time in one condition; `holding` of it with a thread in hand."""
        self.time_in_status[status_key(state, reason)] += seconds
        if state in WORKING:
            self.working += seconds
            self.holding += holding

    def add(self, other: Totals) -> None:
        for key, seconds in other.time_in_status.items():
            self.time_in_status[key] += seconds
        for kind, n in other.counts.items():
            self.counts[kind] += n
        self.answer_seconds += other.answer_seconds
        self.working += other.working
        self.holding += other.holding

    def view(self) -> dict[str, Any]:
        answered = self.counts[ANSWERED]
        return {
            "time_in_status": {k: round(v, 3) for k, v in sorted(self.time_in_status.items()) if v > 0},
            "threads_received": self.counts[RECEIVED],
            "threads_answered": answered,
            "threads_closed": self.counts["closed"],
            "transferred_in": self.counts["transferred_in"],
            "transferred_out": self.counts["transferred_out"],
            "requeued": self.counts["requeued"],
            "mean_first_answer_seconds": round(self.answer_seconds / answered, 3) if answered else None,
            "occupancy": round(self.holding / self.working, 4) if self.working > 0 else None,
        }


def status_key(state: str, reason: str | None) -> str:
    return f"inactive:{reason}" if state == "inactive" and reason else state


async def workload(
    store: SqlStore, *, start: float, end: float, daily_sums: bool = True, within: float | None = None
) -> dict[int, Totals]:
    """Totals per agent id over [start, end). `daily_sums=False` reads every row of the
    period instead: the same totals, the way the bench measures what the sums save.
    `within`: also count the threads received within that many seconds of their arrival
    (W5's service level, `counts[RECEIVED_WITHIN]`)."""
    per_agent: dict[int, Totals] = defaultdict(Totals)
    first, last = whole_days(start, end) if daily_sums else (0, 0)
    async with store.snapshot_reads() as conn:  # the queries below must see the same rows
        if first < last:
            edges = [(start, first * DAY), (last * DAY, end)]
            await _fold(conn, _DAYS, {"first": first, "last": last}, per_agent)
            for row in (
                await conn.execute(_CROSSING, {"start": start, "whole": first * DAY, "until": last * DAY})
            ).all():
                before = start - row.prev_at  # counted in its day's sums, outside the period
                held = -before if row.prev_held else 0.0
                per_agent[row.agent_id].span(row.prev_state, row.prev_reason, -before, held)
        else:
            edges = [(start, end)]
        for lo, hi in edges:
            if lo < hi:
                await _fold(conn, _ENDED, {"start": start, "lo": lo, "hi": hi}, per_agent)
        if within is not None:
            for row in (await conn.execute(_WITHIN, {"start": start, "end": end, "target": within})).all():
                per_agent[row.agent_id].counts[RECEIVED_WITHIN] += int(row.n)
        for row in (await conn.execute(_OPEN, {"end": end})).all():
            seconds = end - max(row.at, start)
            per_agent[row.agent_id].span(row.state, row.reason, seconds, seconds if row.held > 0 else 0.0)
    return per_agent


def whole_days(start: float, end: float) -> tuple[int, int]:
    """The UTC days [first, last) that lie wholly inside [start, end); none when first >= last."""
    first = day_of(start)
    if first * DAY < start:
        first += 1
    return first, day_of(end)


async def _fold(conn: AsyncConnection, query: Any, params: dict[str, float], per_agent: dict[int, Totals]) -> None:
    """Adds up rows of (agent, previous state and reason, kind) sums: _ENDED's or _DAYS'."""
    for row in (await conn.execute(query, params)).all():
        totals = per_agent[row.agent_id]
        if row.prev_state:  # None or '': the agent's first row, which ends no span
            totals.span(row.prev_state, row.prev_reason or None, float(row.span or 0.0), float(row.holding or 0.0))
        if row.kind not in ("status", "registered"):
            totals.counts[row.kind] += int(row.n)
            if row.kind == ANSWERED and row.answer_seconds is not None:
                totals.answer_seconds += float(row.answer_seconds)
