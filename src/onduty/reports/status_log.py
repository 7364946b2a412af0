"""The agent status log (P1): every status change in a period, who caused it, why.

Newest first, as people read a log, paging back in time with `before`; or, for a
program that follows the log, oldest first from `after` (the id it saw last). JSON and
CSV alike. Read page by page on the log's id, so a month of a large team streams as
CSV without ever being held in memory at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import aliased

from onduty.domain.reasons import BUILT_IN
from onduty.domain.statuses import state_and_reason, status_label
from onduty.domain.types import State
from onduty.reports.csv_cells import csv_line
from onduty.storage import schema as t
from onduty.storage.store import SqlStore
from onduty.timefmt import iso

PAGE = 2000
CSV_COLUMNS = (
    "id",
    "at",
    "agent_id",
    "username",
    "name",
    "team",
    "from_state",
    "from_reason",
    "from_label",
    "to_state",
    "to_reason",
    "to_label",
    "caused_by",
    "actor_kind",
    "actor_id",
    "actor_name",
    "why",
)


@dataclass(frozen=True, slots=True)
class LogFilter:
    start: float
    end: float
    agent_id: int | None = None
    teams: list[str] | None = None  # None: every team
    status: str | None = None  # the status changed to: a state, a reason code or inactive:<code>


def label(state: str, reason: str | None, reasons: dict[str, str]) -> str:
    """As the widget shows it (W1); the log holds no thread counts, so `active` reads "Active"."""
    reason_label = reasons.get(reason, reason) if reason is not None else None
    return status_label(State(state), reason_label, threads_held=1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts. Without `after`: newest first, from the newest change or the
    one just older than `before`. With `after`: oldest first, the changes after it."""

    before: int | None = None
    after: int | None = None

    def following(self, last_id: int) -> Cursor:
        """The next page's, after a page that ended with `last_id`."""
        return Cursor(after=last_id) if self.after is not None else Cursor(before=last_id)


def _query(f: LogFilter, cursor: Cursor, limit: int) -> Select[Any]:
    log = t.status_log.c
    agent = aliased(t.users)
    actor = aliased(t.users)
    query = (
        select(
            t.status_log,
            agent.c.username.label("username"),
            agent.c.name.label("agent_name"),
            actor.c.name.label("actor_name"),
        )
        .join(agent, agent.c.id == log.agent_id, isouter=True)
        .join(actor, actor.c.id == log.actor_id, isouter=True)
        .where(and_(log.at >= f.start, log.at < f.end))
        .limit(limit)
    )
    if cursor.after is not None:
        query = query.where(log.id > cursor.after).order_by(log.id)
    else:
        query = query.order_by(log.id.desc())
        if cursor.before is not None:
            query = query.where(log.id < cursor.before)
    if f.agent_id is not None:
        query = query.where(log.agent_id == f.agent_id)
    if f.teams is not None:
        query = query.where(log.team.in_(f.teams))
    if f.status is not None:
        state, reason = state_and_reason(f.status)
        query = query.where(log.to_state == state.value)
        if reason is not None:
            query = query.where(log.to_reason == reason)
    return query


def row_view(row: Any, reasons: dict[str, str]) -> dict[str, Any]:
    kind, why = row.actor_kind, row.actor_why
    if kind == "system":
        caused_by = f"system: {(why or '').replace('_', ' ')}".rstrip(": ")
    elif kind == "agent":
        caused_by = "the agent"
    else:
        caused_by = f"{kind} {row.actor_name or row.actor_id}"
    return {
        "id": row.id,
        "at": iso(row.at),
        "agent_id": row.agent_id,
        "username": row.username or "",
        "name": row.agent_name or row.username or "",
        "team": row.team,
        "from": {
            "state": row.from_state,
            "reason": row.from_reason,
            "label": label(row.from_state, row.from_reason, reasons),
        },
        "to": {"state": row.to_state, "reason": row.to_reason, "label": label(row.to_state, row.to_reason, reasons)},
        "caused_by": caused_by,
        "actor": {"kind": kind, "id": row.actor_id, "name": row.actor_name, "why": why},
    }


async def reason_labels(store: SqlStore) -> dict[str, str]:
    """Every reason ever defined, retired ones included, by code (S1: history stays readable)."""
    saved = {r.code: r.label for r in await store.fetch(select(t.reasons.c.code, t.reasons.c.label))}
    return dict(BUILT_IN) | saved  # built-ins have a row only once an admin changed them


async def page(store: SqlStore, f: LogFilter, cursor: Cursor, *, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """A page, and the id to go on from (as `before`, or `after` when that was given); None at the end."""
    reasons = await reason_labels(store)
    rows = await store.fetch(_query(f, cursor, limit))
    items = [row_view(r, reasons) for r in rows]
    return items, (rows[-1].id if len(rows) == limit else None)


async def csv_lines(store: SqlStore, f: LogFilter, cursor: Cursor) -> AsyncIterator[str]:
    """The whole selection from `cursor` on, in its order."""
    reasons = await reason_labels(store)
    yield csv_line(CSV_COLUMNS)
    while True:
        rows = await store.fetch(_query(f, cursor, PAGE))
        for row in rows:
            v = row_view(row, reasons)
            yield csv_line(
                (
                    v["id"], v["at"], v["agent_id"], v["username"], v["name"], v["team"],
                    v["from"]["state"], v["from"]["reason"] or "", v["from"]["label"],
                    v["to"]["state"], v["to"]["reason"] or "", v["to"]["label"],
                    v["caused_by"], v["actor"]["kind"], v["actor"]["id"] or "", v["actor"]["name"] or "",
                    v["actor"]["why"] or "",
                )
            )  # fmt: skip
        if len(rows) < PAGE:
            return
        cursor = cursor.following(rows[-1].id)
