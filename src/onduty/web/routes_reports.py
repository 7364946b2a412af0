"""Reports over HTTP: the status log (P1) and the workload (P2), as JSON or CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Response
from litestar.response import Stream

from onduty.domain.statuses import STATUS_FILTER_PATTERN
from onduty.reports.csv_cells import csv_line
from onduty.reports.periods import DAY_PATTERN, Period, PeriodError, resolve_period
from onduty.service import queries as q
from onduty.service.accounts import User
from onduty.service.reads import Cursor, LogFilter
from onduty.timefmt import iso
from onduty.web import schemas as s
from onduty.web._openapi import AlsoCsv
from onduty.web._routing_helpers import api_get, as_struct, check_id, query
from onduty.web.context import Caller, Ctx, require
from onduty.web.errors import forbidden, invalid
from onduty.web.schemas import MAX_BIG_ID, MAX_ID

FORMATS = ("json", "csv")
PERIODS = ("day", "week")
LOG_LIMIT = 5000
From = Annotated[str | None, query("from", "The start, ISO 8601 (with to; not with period or date)")]
To = Annotated[str | None, query("to", "The end, ISO 8601 (with from)")]
Format = Annotated[str, query("format", enum=list(FORMATS))]
PeriodName = Annotated[str | None, query(description="A calendar day or week (with date)", enum=list(PERIODS))]
Day = Annotated[
    str | None,
    query(description="YYYY-MM-DD, the day or a day of the week (with period)", pattern=DAY_PATTERN),
]
Team = Annotated[str | None, query()]


async def _period(ctx: Ctx, start: str | None, end: str | None, period: str | None, day: str | None) -> Period:
    zone = ZoneInfo(await ctx.node.read(q.time_zone))
    try:
        return resolve_period(start=start, end=end, period=period, day=day, zone=zone, now=ctx.node.now())
    except PeriodError as error:
        raise invalid(str(error), error.field) from None


def _teams(caller: User, team: str | None) -> list[str] | None:
    """Supervisors report on their own team; admins on any or all."""
    require(caller, "supervisor", "admin")
    if caller.role == "supervisor":
        if team is not None and team != caller.team:
            raise forbidden("a supervisor sees only their own team's reports", "team")
        return [caller.team or ""]
    return [team] if team is not None else None


def _format(value: str) -> str:
    if value not in FORMATS:
        raise invalid("format must be json or csv", "format")
    return value


class CsvStream(Stream):
    """A streamed CSV. Litestar 2 lets the handler's media type (JSON, from its return
    annotation) override the response's own, contrary to its docs; keep ours."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(*args, **kwargs)


async def _selection(
    caller: User,
    ctx: Ctx,
    team: str | None,
    fmt: str,
    start: str | None,
    end: str | None,
    period: str | None,
    day: str | None,
) -> tuple[list[str] | None, str, Period]:
    """What both reports check first: whose, in which format, over which period."""
    return _teams(caller, team), _format(fmt), await _period(ctx, start, end, period, day)


def _csv_download(lines: AsyncIterator[str], name: str) -> Stream:
    return CsvStream(
        lines,
        media_type="text/csv",  # Litestar adds the charset
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@api_get(
    "/reports/status-log",
    summary="Agent status log (P1), newest first, today unless asked otherwise",
    tags=["reports"],
    operation_class=AlsoCsv,
)
async def status_log_report(
    caller: Caller,
    ctx: Ctx,
    start: From = None,
    end: To = None,
    period: PeriodName = None,
    date: Day = None,
    agent_id: Annotated[int | None, query(minimum=1, maximum=MAX_ID)] = None,
    team: Team = None,
    status: Annotated[
        str | None,
        query(
            description="The status changed to: a state, a reason code, or inactive:<reason code>"
            " (as the workload's time_in_status keys)",
            pattern=STATUS_FILTER_PATTERN,
        ),
    ] = None,
    fmt: Format = "json",
    before: Annotated[
        int | None,
        query(
            description="The page before's `next`: the changes older than it, newest first",
            minimum=1,
            maximum=MAX_BIG_ID,
        ),
    ] = None,
    after: Annotated[
        int | None,
        query(
            description="Oldest first instead: the changes after this id (0: from the first), then after `next`",
            minimum=0,
            maximum=MAX_BIG_ID,
        ),
    ] = None,
    limit: Annotated[int, query(minimum=1, maximum=LOG_LIMIT)] = 500,
) -> s.StatusLogPage:
    teams, fmt, window = await _selection(caller, ctx, team, fmt, start, end, period, date)
    if not 1 <= limit <= LOG_LIMIT:
        raise invalid(f"limit must be from 1 to {LOG_LIMIT}", "limit")
    check_id(agent_id, "agent_id")
    check_id(before, "before", high=MAX_BIG_ID)
    check_id(after, "after", low=0, high=MAX_BIG_ID)
    if before is not None and after is not None:
        raise invalid("give before (newest first) or after (oldest first), not both", "before")
    await ctx.node.read(q.status_log_filter(caller, status, agent_id))
    selection, cursor = LogFilter(window.start, window.end, agent_id, teams, status), Cursor(before, after)
    if fmt == "csv":
        return _csv_download(ctx.reads.status_log_csv(selection, cursor), "status-log")  # type: ignore[return-value]
    page = await ctx.reads.status_log(selection, cursor, limit=limit)
    return as_struct(
        {"from": iso(window.start), "to": iso(window.end), "items": page.items, "next": page.next}, s.StatusLogPage
    )


@api_get(
    "/reports/workload",
    summary="Workload per agent and team (P2), today unless asked otherwise",
    tags=["reports"],
    operation_class=AlsoCsv,
)
async def workload_report(
    caller: Caller,
    ctx: Ctx,
    start: From = None,
    end: To = None,
    period: PeriodName = None,
    date: Day = None,
    team: Team = None,
    fmt: Format = "json",
) -> s.WorkloadReport:
    teams, fmt, window = await _selection(caller, ctx, team, fmt, start, end, period, date)
    report = await build_workload(ctx, window, teams)
    if fmt == "csv":
        return Response(  # type: ignore[return-value]
            workload_csv(report),
            media_type="text/csv",  # Litestar adds the charset
            headers={"Content-Disposition": 'attachment; filename="workload.csv"'},
        )
    return as_struct(report, s.WorkloadReport)


async def build_workload(ctx: Ctx, window: Period, teams: list[str] | None) -> dict[str, Any]:
    end = min(window.end, max(window.start, ctx.node.now()))  # open statuses count up to now
    rows = await ctx.reads.workload(start=window.start, end=end, teams=teams)
    return {
        "from": iso(window.start),
        "to": iso(window.end),
        "until": iso(end),
        "time_zone": await ctx.node.read(q.time_zone),
        "labels": rows.labels,
        "agents": rows.agents,
        "teams": rows.teams,
    }


def workload_csv(report: dict[str, Any]) -> str:
    keys = sorted({k for row in report["agents"] for k in row["time_in_status"]})
    counts = (
        "threads_received",
        "threads_answered",
        "threads_closed",
        "transferred_in",
        "transferred_out",
        "requeued",
        "mean_first_answer_seconds",
        "occupancy",
    )
    lines = [
        csv_line(
            ["agent_id", "username", "name", "team", *(f"seconds {report['labels'].get(k, k)}" for k in keys), *counts]
        )
    ]
    for row in report["agents"]:
        times = [row["time_in_status"].get(k, 0) for k in keys]
        lines.append(
            csv_line([row["agent_id"], row["username"], row["name"], row["team"], *times, *(row[c] for c in counts)])
        )
    for row in report["teams"]:
        times = [row["time_in_status"].get(k, 0) for k in keys]
        lines.append(csv_line(["", "", f"team total: {row['team']}", row["team"], *times, *(row[c] for c in counts)]))
    return "".join(lines)


ROUTES = [status_log_report, workload_report]
