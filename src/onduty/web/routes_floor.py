"""W5, the floor at a glance: how many agents are in each status, the general queue, and
today's service, for a supervisor's team or (admin) the whole floor or one team."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from onduty.reports.periods import resolve_period
from onduty.service import queries as q
from onduty.web import schemas as s
from onduty.web._routing_helpers import api_get, as_struct, query
from onduty.web.context import Caller, Ctx, require
from onduty.web.errors import forbidden


@api_get("/floor", summary="The floor at a glance: counts, the queue, today's service (W5)", tags=["agents"])
async def floor(
    caller: Caller,
    ctx: Ctx,
    team: Annotated[str | None, query(description="A team (a supervisor: their own, the default)")] = None,
) -> s.Floor:
    require(caller, "supervisor", "admin")
    if caller.role == "supervisor":
        if team is not None and team != caller.team:
            raise forbidden("a supervisor sees only their own team", "team")
        team = caller.team or ""
    now = ctx.node.now()
    live = await ctx.node.read(q.floor(team, now))
    settings = await ctx.node.read(q.settings)
    # Today in the workspace's time zone, up to now: the workload report's day (P2).
    day = resolve_period(start=None, end=None, period="day", day=None, zone=ZoneInfo(settings["time_zone"]), now=now)
    today = await ctx.reads.floor_today(
        start=day.start,
        end=min(day.end, max(day.start, now)),
        teams=None if team is None else [team],
        target=settings["service_level_target"],
    )
    return as_struct(live | {"today": today}, s.Floor)


ROUTES = [floor]
