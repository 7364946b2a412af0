"""Rows of every shape the write plan handles, built by hand (no engine), for the tests of
_write_plan.py and of the committers: each row's values are distinct, so a row written
twice, lost or mixed up with another shows when it is read back."""

from __future__ import annotations

from typing import Any

from onduty.journal import JournalEntry

AGENT_COLUMNS = (
    "id", "team", "capacity", "name", "state", "reason", "since", "set_by_kind", "set_by_id", "set_by_why",
    "before_logout_state", "before_logout_reason", "ever_logged_in", "last_assigned_at", "idle_since",
    "working_since", "prompt_deadline",
)  # fmt: skip
STATUS_LOG_COLUMNS = (
    "agent_id", "team", "at", "from_state", "from_reason", "to_state", "to_reason", "actor_kind", "actor_id",
    "actor_why",
)  # fmt: skip
MESSAGE_COLUMNS = ("id", "thread_id", "author", "agent_id", "text", "at", "pinned")
THREAD_COLUMNS = (
    "id", "client_id", "created_at", "priority", "state", "agent_id", "assigned_at", "reserved_for",
    "reserve_deadline", "reclaim_pending", "answered_once", "closed_at",
)  # fmt: skip


def agent(agent_id: int, *, version: int = 0) -> dict[str, Any]:
    """An `agents` row; each `version` differs from the one before in every column but the id
    (None and a value swap places too)."""
    return {
        "id": agent_id,
        "team": f"team{version}",
        "capacity": 2 + version,
        "name": f"Agent {agent_id} v{version}",
        "state": "active" if version % 2 else "not_ready",
        "reason": None if version % 2 else f"reason{version}",
        "since": 1000.5 + version,
        "set_by_kind": "agent" if version % 2 else "supervisor",
        "set_by_id": agent_id + version,
        "set_by_why": None if version % 2 else "why",
        "before_logout_state": "active" if version % 2 else None,
        "before_logout_reason": f"before{version}" if version % 2 else None,
        "ever_logged_in": version % 2 == 1,
        "last_assigned_at": 2000.25 + version if version % 2 else None,
        "idle_since": 3000.75 + version,
        "working_since": None if version % 2 else 4000.5 + version,
        "prompt_deadline": 5000.125 + version if version % 2 else None,
    }


def status_log(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    """`count` status_log rows, numbered from `start`; row i is at `i + 0.5`."""
    return [
        {
            "agent_id": 1 + i % 3,
            "team": f"team{i % 2}",
            "at": i + 0.5,
            "from_state": "not_ready",
            "from_reason": f"r{i}" if i % 2 else None,
            "to_state": "active",
            "to_reason": None,
            "actor_kind": "agent",
            "actor_id": 1 + i % 3,
            "actor_why": f"w{i}" if i % 3 else None,
        }
        for i in range(start, start + count)
    ]


def messages(count: int, *, first_id: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "id": first_id + i,
            "thread_id": 100 + i % 4,
            "author": "client" if i % 2 else "agent",
            "agent_id": None if i % 2 else 1,
            "text": f"message {first_id + i}: ünïcode, 'quotes', ?, $1",
            "at": 10.0 + i,
            "pinned": i % 3 == 0,
        }
        for i in range(count)
    ]


def thread(thread_id: int, *, state: str = "queued") -> dict[str, Any]:
    assigned = state == "assigned"
    return {
        "id": thread_id,
        "client_id": f"client-{thread_id}",
        "created_at": 50.0 + thread_id,
        "priority": thread_id % 3,
        "state": state,
        "agent_id": 1 if assigned else None,
        "assigned_at": 60.0 + thread_id if assigned else None,
        "reserved_for": None if assigned else 2,
        "reserve_deadline": None if assigned else 70.0 + thread_id,
        "reclaim_pending": not assigned,
        "answered_once": assigned,
        "closed_at": None,
    }


def journal(count: int, *, start: int = 0) -> list[JournalEntry]:
    return [
        JournalEntry(
            f"test.event{i}",
            900.0 + i,
            {"n": i, "text": f"é{i}"},
            {"agents": [i], "teams": [], "public": i % 2 == 0},
        )
        for i in range(start, start + count)
    ]


def values(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in columns) for row in rows]
