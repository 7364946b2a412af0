"""Report periods: a day or a week in the workspace's time zone, or a free from-to;
without any of them, today (P1).

Days and weeks start at local midnight (weeks on Monday), so a day across a
daylight-saving change lasts 23 or 25 hours, as the team lived it.

A period lies within the years 1 to 9999 in UTC, the times the API can write: a day
or week at the edge of the calendar (9999-12-31's, or 0001-01-01's east of UTC), or
a time whose offset takes it over the edge, is refused, not a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from onduty.timefmt import parse_iso

MAX_SPAN = 400 * 24 * 3600.0
EARLIEST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
_EDGES = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
DAY_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"  # empty: today
_DAY = re.compile(DAY_PATTERN)


class PeriodError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Period:
    start: float
    end: float  # exclusive


def local_midnight(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(0), zone).timestamp()


def resolve_period(
    *,
    start: str | None,
    end: str | None,
    period: str | None,
    day: str | None,
    zone: ZoneInfo,
    now: float,
) -> Period:
    """`period=day|week` with `date=YYYY-MM-DD` (default: today, local), or `from`/`to` in ISO 8601;
    none of them: today, local (P1)."""
    if period is None and start is None and end is None and day is None:
        period = "day"  # the question a supervisor opening a report asks first: how is today going
    if period is not None:
        if start is not None or end is not None:
            raise PeriodError("give either period (with date) or from/to, not both", "period")
        if period not in ("day", "week"):
            raise PeriodError("period must be day or week", "period")
        if day and not _DAY.match(day):  # fromisoformat reads other forms too (20260301, 2026-W10-1)
            raise PeriodError("date must be YYYY-MM-DD", "date")
        try:
            anchor = date.fromisoformat(day) if day else datetime.fromtimestamp(now, zone).date()
        except ValueError:
            raise PeriodError("date must be YYYY-MM-DD", "date") from None
        return _calendar_period(anchor, period, zone)
    if day is not None:
        raise PeriodError("date goes with period=day or period=week", "date")
    if start is None or end is None:
        raise PeriodError("give from and to (ISO 8601), or period=day|week", "from" if start is None else "to")
    begin, finish = _instant(start, "from"), _instant(end, "to")
    if finish <= begin:
        raise PeriodError("to must be after from", "to")
    if finish - begin > MAX_SPAN:
        raise PeriodError("a report covers at most 400 days", "to")
    return Period(begin, finish)


def _calendar_period(anchor: date, period: str, zone: ZoneInfo) -> Period:
    """The day, or the week (from Monday), holding `anchor`, from local midnight to local midnight."""
    beyond = PeriodError(f"date: the {period} must fall within {_EDGES} (its midnights in {zone.key})", "date")
    try:
        if period == "week":
            anchor -= timedelta(days=anchor.weekday())
        length = 7 if period == "week" else 1
        start, end = local_midnight(anchor, zone), local_midnight(anchor + timedelta(days=length), zone)
    except OverflowError:  # the day after is past the calendar's last
        raise beyond from None
    if start < EARLIEST or end > LATEST:
        raise beyond
    return Period(start, end)


def _instant(text: str, field: str) -> float:
    try:
        instant = parse_iso(text)
    except ValueError:
        raise PeriodError(f"{field} must be an ISO 8601 time, like 2026-03-01T00:00:00Z", field) from None
    if not EARLIEST <= instant <= LATEST:
        raise PeriodError(f"{field} must be a time from {_EDGES}", field)
    return instant
