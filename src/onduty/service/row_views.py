"""How the database's threads and approval requests read to people and programs: the API's
thread and approval objects, made from their rows (views.py makes the live workspace's)."""

from __future__ import annotations

from typing import Any

from onduty.timefmt import iso


def thread_view(row: Any, messages: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "state": row.state,
        "agent_id": row.agent_id,
        "created_at": iso(row.created_at),
        "priority": row.priority,
        "closed_at": iso(row.closed_at),
        "messages": [
            {
                "id": m.id,
                "author": m.author,
                "agent_id": m.agent_id,
                "text": m.text,
                "at": iso(m.at),
                "pinned": m.pinned,
            }
            for m in messages
        ],
    }


def approval_view(row: Any) -> dict[str, Any]:
    decided_by = {"kind": row.decided_by_kind, "id": row.decided_by_id} if row.decided_by_kind else None
    return {
        "id": row.id,
        "agent_id": row.agent_id,
        "state": row.state,
        "requested": {"state": row.requested_state, "reason": row.requested_reason},
        "created_at": iso(row.created_at),
        "decided_by": decided_by,
        "decided_at": iso(row.decided_at),
        "why": row.why,
    }
