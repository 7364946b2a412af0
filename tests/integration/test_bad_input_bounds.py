"""Input at the edge of what the service can hold ("Everywhere"): a report period past the
calendar's first or last day, an id past what the database's id columns can hold. Each is
a 400 naming the field and its rule, never a 500 (which also stalled the whole server while
its traceback was drawn); a value just within the edge is answered as usual. On SQLite and
PostgreSQL (whose INTEGER ids stop at 2**31 - 1, where SQLite's go on to 2**63 - 1).
"""

from __future__ import annotations

from typing import Any

from tests.integration.api_client import Api, Person
from tests.integration.test_api_bad_input import refused, scene, snapshot

REPORTS = ("/reports/status-log", "/reports/workload")
MAX_ID, MAX_BIG_ID = 2**31 - 1, 2**63 - 1


async def in_zone(api: Api, zone: str) -> None:
    await api.call(api.admin, "PATCH", "/settings", {"time_zone": zone}, expect=200)


async def every_report_refuses(api: Api, who: Person, params: dict[str, Any], field: str) -> None:
    for path in REPORTS:
        for fmt in ("json", "csv"):
            error = await refused(api, who, "GET", path, params={**params, "format": fmt}, field=field)
            assert "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z" in error["message"], error


async def test_a_report_period_past_the_calendars_last_day_is_refused(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    for zone in ("UTC", "Asia/Tokyo", "America/New_York"):
        await in_zone(api, zone)
        for period, date in [("day", "9999-12-31"), ("week", "9999-12-31"), ("week", "9999-12-27")]:
            await every_report_refuses(api, s.supervisor, {"period": period, "date": date}, "date")
        # The last whole day and week there are: reported (empty).
        for period, date in [("day", "9999-12-30"), ("week", "9999-12-26")]:
            log = await api.json(s.supervisor, "GET", REPORTS[0], params={"period": period, "date": date}, expect=200)
            assert log["items"] == [] and log["to"] <= "9999-12-31T23:59:59.000Z"
            await api.call(s.supervisor, "GET", REPORTS[1], params={"period": period, "date": date}, expect=200)
    await every_report_refuses(
        api, s.supervisor, {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:00:00-05:00"}, "to"
    )
    await in_zone(api, "UTC")
    assert await snapshot(api) == before


async def test_a_report_period_before_the_calendars_first_day_is_refused(api: Api) -> None:
    """East of UTC, 0001-01-01's midnight is still in the year 0 in UTC, a time the API
    cannot write; west of it, the day is there to report."""
    s = await scene(api)
    await in_zone(api, "Asia/Tokyo")
    for period, date in [("day", "0001-01-01"), ("week", "0001-01-01"), ("week", "0001-01-07")]:
        await every_report_refuses(api, s.supervisor, {"period": period, "date": date}, "date")
    await api.call(s.supervisor, "GET", REPORTS[0], params={"period": "day", "date": "0001-01-02"}, expect=200)
    await every_report_refuses(api, s.supervisor, {"from": "0001-01-01T00:00:00+01:00", "to": "0001-01-02"}, "from")
    await in_zone(api, "America/New_York")
    for path in REPORTS:
        report = await api.json(s.supervisor, "GET", path, params={"period": "week", "date": "0001-01-01"}, expect=200)
        assert report["from"] == "0001-01-01T04:56:02.000Z"  # New York's local mean time then


async def test_report_ids_past_what_an_id_can_be_are_refused(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    for who in (api.admin, s.supervisor):
        for fmt in ("json", "csv"):
            for agent_id in (2**64, -(2**64), 2**40, MAX_ID + 1, 0):
                params = {"agent_id": str(agent_id), "format": fmt}
                await refused(api, who, "GET", REPORTS[0], params=params, field="agent_id")
            for after in (2**64, -(2**64), MAX_BIG_ID + 1, -1):
                params = {"after": str(after), "format": fmt}
                await refused(api, who, "GET", REPORTS[0], params=params, field="after")
            for older_than in (2**64, -(2**64), MAX_BIG_ID + 1, 0):
                params = {"before": str(older_than), "format": fmt}
                await refused(api, who, "GET", REPORTS[0], params=params, field="before")
    # At the edge: a possible id that nothing has.
    assert (await api.json(api.admin, "GET", REPORTS[0], params={"agent_id": MAX_ID}, expect=200))["items"] == []
    assert (await api.json(api.admin, "GET", REPORTS[0], params={"after": MAX_BIG_ID}, expect=200))["items"] == []
    assert (await api.json(api.admin, "GET", REPORTS[0], params={"before": 1}, expect=200))["items"] == []
    assert await snapshot(api) == before


async def test_thread_and_presence_ids_past_what_an_id_can_be_are_refused(api: Api) -> None:
    """The same rule where the store already answered "none" for them: said, not guessed."""
    s = await scene(api)
    before = await snapshot(api)
    for who in (api.admin, s.supervisor):
        for agent_id in (2**64, 2**40, MAX_ID + 1, 0):
            await refused(api, who, "GET", "/threads", params={"agent_id": str(agent_id)}, field="agent_id")
        for after in (2**64, -(2**64), MAX_BIG_ID + 1, -1):
            await refused(api, who, "GET", "/threads", params={"after": str(after)}, field="after")
        for ids in (f"{2**64},999", f"1,{MAX_ID + 1}", "0"):
            await refused(api, who, "GET", "/presence", params={"ids": ids}, field="ids")
    for params in ({"agent_id": MAX_ID}, {"after": MAX_BIG_ID}):
        assert (await api.json(api.admin, "GET", "/threads", params=params, expect=200))["items"] == []
    assert await api.json(api.admin, "GET", "/presence", params={"ids": f"{MAX_ID},999"}, expect=200) == []
    assert await snapshot(api) == before
