"""Agent activity rows (the workload report's timeline): what an agent did, and when.

Each row carries the agent's condition after the command and the condition it
ended (held since `prev_at`): the tracker remembers each agent's last row, so
a row describes a whole span and the report needs no window over the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from onduty.domain.model import Agent

# Kinds of activity; `status` and `registered` change no count.
RECEIVED = "received"
ANSWERED = "answered"
CLOSED = "closed"
TRANSFERRED_IN = "transferred_in"
TRANSFERRED_OUT = "transferred_out"
REQUEUED = "requeued"
STATUS = "status"
REGISTERED = "registered"

Condition = tuple[float, str, str | None, int]  # since, state, reason, threads held

DAY = 86400.0  # the roll-ups' days are UTC days: [d * DAY, (d + 1) * DAY)

# One row of agent_activity_days: day, agent_id, prev_state, prev_reason, kind (the key),
# then n, answer_seconds, span, holding (added to what the day holds).
DaySums = tuple[int, int, str, str, str, int, float, float, float]


@dataclass(slots=True)
class ActivityTracker:
    """Each agent's last written condition. Rebuilt from the table at start and after a
    failed commit, so it never runs ahead of what the database holds."""

    last: dict[int, Condition] = field(default_factory=dict)

    def row(self, agent: Agent, at: float, kind: str, thread_id: int | None, seconds: float | None) -> dict[str, Any]:
        """The row of what `agent` did at `at`, with their condition after the command: within
        one instant only the last condition lasts, so every row of a command carries it. The
        agent's first row of a command ends the span that began at their previous row."""
        state = agent.state._value_  # what .value answers, without its descriptor (hot: every change)
        now: Condition = (at, state, agent.reason, len(agent.threads))
        before = self.last.get(agent.id)
        self.last[agent.id] = now
        return {
            "agent_id": agent.id,
            "at": at,
            "kind": kind,
            "thread_id": thread_id,
            "seconds": seconds,
            "team": agent.team,
            "state": state,
            "reason": now[2],
            "held": now[3],
            "prev_at": None if before is None else before[0],
            "prev_state": None if before is None else before[1],
            "prev_reason": None if before is None else before[2],
            "prev_held": None if before is None else before[3],
        }


def day_of(at: float) -> int:
    """The day `at` falls in: d with d * DAY <= at < (d + 1) * DAY. Exact, as the report's
    comparisons are: float floor division rounds nothing here (fmod is exact)."""
    return int(at // DAY)


def day_sums(rows: list[dict[str, Any]]) -> list[DaySums]:
    """Activity rows summed as agent_activity_days holds them, one sum per key: a batch
    upserts each key once (fewer rows to write than the activity rows). A row ends the span
    since `prev_at`, whole here; the report clips at its start the one span per agent that
    crosses it."""
    sums: dict[tuple[int, int, str, str, str], list[float]] = {}
    for row in rows:
        at, prev_at = row["at"], row["prev_at"]
        key = (day_of(at), row["agent_id"], row["prev_state"] or "", row["prev_reason"] or "", row["kind"])
        span = 0.0 if prev_at is None else at - prev_at
        holding = span if row["prev_held"] else 0.0
        seconds = row["seconds"] or 0.0
        total = sums.get(key)
        if total is None:
            sums[key] = [1, seconds, span, holding]
        else:
            total[0] += 1
            total[1] += seconds
            total[2] += span
            total[3] += holding
    return [(*key, int(n), seconds, span, holding) for key, (n, seconds, span, holding) in sums.items()]
