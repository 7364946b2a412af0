"""The workload report (P2): per agent, time in each status, thread counts, occupancy.

Everything comes from `agent_activity`. Each of its rows ends a span: the
agent's previous condition (state, reason, threads held) lasted from
`prev_at` to the row's time. So the report is one scan of the period, summing
spans by the condition they describe (clipped to the period's start) and
counting what happened, plus one indexed look-up per agent for the span still
open at the end, which counts up to the end (or now, whichever comes first).
An agent counts from their registration: before it they have no row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from onduty.storage.activity import ANSWERED, RECEIVED
from onduty.storage.store import Store

WORKING = ("active", "active_own_clients", "finishing")

# Spans that end inside the period, and what happened, in one pass.
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
    WHERE at >= :start AND at < :end
    GROUP BY agent_id, prev_state, prev_reason, kind
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


async def workload(store: Store, *, start: float, end: float) -> dict[int, Totals]:
    """Totals per agent id over [start, end)."""
    params = {"start": start, "end": end}
    per_agent: dict[int, Totals] = defaultdict(Totals)
    async with store.engine.connect() as conn:
        for row in (await conn.execute(_ENDED, params)).all():
            totals = per_agent[row.agent_id]
            if row.prev_state is not None:
                totals.span(row.prev_state, row.prev_reason, float(row.span or 0.0), float(row.holding or 0.0))
            if row.kind not in ("status", "registered"):
                totals.counts[row.kind] += int(row.n)
                if row.kind == ANSWERED and row.answer_seconds is not None:
                    totals.answer_seconds += float(row.answer_seconds)
        for row in (await conn.execute(_OPEN, params)).all():
            seconds = end - max(row.at, start)
            per_agent[row.agent_id].span(row.state, row.reason, seconds, seconds if row.held > 0 else 0.0)
    return per_agent
