"""Agent activity rows (the workload report's timeline) from one command's events.

Each row carries the agent's condition after the command and the condition it
ended (held since `prev_at`): the tracker remembers each agent's last row, so
a row describes a whole span and the report needs no window over the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from onduty.domain import events as ev
from onduty.domain.workspace import Workspace

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
    failed commit, so it never runs ahead of what the database holds.

    It also keeps the routing state (W5: flowing, halted, at_capacity) last told, so that
    a change of routing alone is told once, across batches. The service sets it from the
    engine it rebuilt (what the last committed batch told); None tells the next one."""

    last: dict[int, Condition] = field(default_factory=dict)
    routing: str | None = None


def activity_rows(events: list[ev.Event], ws: Workspace, tracker: ActivityTracker) -> list[dict[str, Any]]:
    """Within one instant only the last condition lasts, so every row of a command carries
    the condition after the whole command; the first row of each agent ends the span
    that began at their previous row."""
    happened = [(event, activity) for event in events for activity in _activities(event, ws)]
    rows: list[dict[str, Any]] = []
    last = tracker.last
    for event, (agent_id, kind, seconds) in happened:
        agent = ws.agents[agent_id]
        state = agent.state._value_  # what .value answers, without its descriptor (hot: every change)
        now: Condition = (event.at, state, agent.reason, len(agent.threads))
        before = last.get(agent_id)
        rows.append(
            {
                "agent_id": agent_id,
                "at": event.at,
                "kind": kind,
                "thread_id": _thread(event),
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
        )
        last[agent_id] = now
    return rows


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


def _thread(event: ev.Event) -> int | None:
    thread_id: int | None = getattr(event, "thread_id", None)
    return thread_id


def _activities(event: ev.Event, ws: Workspace) -> list[tuple[int, str, float | None]]:
    if type(event) is ev.StatusChanged:  # the most frequent, first
        return [(event.agent_id, STATUS, None)]
    if isinstance(event, ev.AgentRegistered):
        return [(event.agent_id, REGISTERED, None)]
    if isinstance(event, ev.ThreadAssigned):
        return [(event.agent_id, RECEIVED, None)]
    if isinstance(event, ev.ThreadAnswered):
        thread = ws.threads.get(event.thread_id)
        given = thread.assigned_at if thread is not None else None
        return [(event.agent_id, ANSWERED, None if given is None else event.at - given)]
    if isinstance(event, ev.ThreadTransferred):
        moves: list[tuple[int, str, float | None]] = [(event.to_agent_id, TRANSFERRED_IN, None)]
        if event.from_agent_id is not None:
            moves.insert(0, (event.from_agent_id, TRANSFERRED_OUT, None))
        return moves
    if isinstance(event, ev.ThreadClosed) and event.agent_id is not None:
        return [(event.agent_id, CLOSED, None)]
    if isinstance(event, ev.ThreadRequeued) and event.agent_id is not None and event.why != "affinity_wait_over":
        return [(event.agent_id, REQUEUED, None)]
    return []
