"""Reports (P1, P2) with hand-computed expectations, built through the real service on a
virtual clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from tests.integration.api_client import Api, Person

DAY = datetime(2027, 2, 1, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC
H, M = 3600.0, 60.0


async def at(api: Api, seconds_into_day: float) -> None:
    """Move the virtual clock to a time of DAY and let due timers fire on the way."""
    target = DAY + seconds_into_day
    assert target >= api.clock.now(), "scenarios run forward"
    await api.advance(target - api.clock.now())


async def status(api: Api, agent: Person, state: str, reason: str | None = None) -> None:
    body: dict[str, Any] = {"state": state} | ({"reason": reason} if reason else {})
    await api.call(agent, "PUT", "/me/status", body, expect=200)


def only(report: dict[str, Any], agent: Person) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [a for a in report["agents"] if a["agent_id"] == agent.id]
    assert len(rows) == 1
    return rows[0]


async def an_agents_day(api: Api) -> tuple[Person, Person, Person]:
    """07:00 created; lunch, a kick-out, a finishing period, logged out overnight."""
    api.clock.set(DAY + 7 * H)
    supervisor = await api.person("supervisor")
    agent = await api.person("agent")
    chat = await api.person("integration")

    async def client(name: str) -> int:
        thread = await api.json(chat, "POST", "/threads", {"client_id": name, "text": "hello"}, expect=201)
        return int(thread["id"])

    await at(api, 8 * H)
    await api.call(agent, "POST", "/me/login", expect=200)  # S5 first login: not_ready
    await at(api, 8 * H + 10 * M)
    await status(api, agent, "active")
    await at(api, 8 * H + 20 * M)
    first = await client("c1")  # received 1
    await at(api, 8 * H + 20 * M + 30)
    await api.call(agent, "POST", f"/threads/{first}/messages", {"text": "hi"}, expect=201)  # answered in 30 s
    await at(api, 8 * H + 30 * M)
    await api.call(agent, "POST", f"/threads/{first}/close", expect=200)
    await at(api, 12 * H)
    await status(api, agent, "inactive", "lunch")
    await at(api, 13 * H)
    await status(api, agent, "active")
    await at(api, 13 * H + 5 * M)
    ignored = await client("c2")  # received 2; never answered
    # S6: prompted at 13:06:00, kicked out at 13:06:30; the thread goes back (requeued 1).
    await at(api, 13 * H + 10 * M)
    await status(api, agent, "active")  # the queued thread comes back to them: received 3
    await at(api, 13 * H + 10 * M + 30)
    await api.call(agent, "POST", f"/threads/{ignored}/messages", {"text": "sorry"}, expect=201)
    await at(api, 13 * H + 20 * M)
    await api.call(agent, "POST", f"/threads/{ignored}/close", expect=200)
    await at(api, 15 * H)
    last = await client("c3")  # received 4
    await at(api, 15 * H + 30)
    await api.call(agent, "POST", f"/threads/{last}/messages", {"text": "yes"}, expect=201)
    await at(api, 15 * H + 5 * M)
    await status(api, agent, "inactive", "lunch")  # S3: finishing, one thread held
    await at(api, 15 * H + 20 * M)
    await api.call(agent, "POST", f"/threads/{last}/close", expect=200)  # -> inactive:lunch
    await at(api, 15 * H + 30 * M)
    await api.call(agent, "POST", "/me/logout", expect=200)  # offline overnight
    await at(api, 24 * H + 8 * H)
    await api.call(agent, "POST", "/me/login", expect=200)  # S5: back to lunch
    return supervisor, agent, chat


async def test_p2_an_agents_day_hand_computed(api: Api) -> None:
    supervisor, agent, _ = await an_agents_day(api)
    report = await api.json(supervisor, "GET", "/reports/workload", params={"period": "day", "date": "2027-02-01"})
    assert report["from"] == "2027-02-01T00:00:00.000Z"
    assert report["to"] == "2027-02-02T00:00:00.000Z"
    row = only(report, agent)
    assert row["time_in_status"] == {
        "offline": 1 * H + 8 * H + 30 * M,  # 07:00-08:00 after creation, 15:30-24:00
        "not_ready": 10 * M,
        "active": (3 * H + 50 * M) + (6 * M + 30) + (1 * H + 55 * M),
        "inactive:lunch": 1 * H + 10 * M,
        "kicked_out": 3 * M + 30,
        "finishing": 15 * M,
    }
    # It existed from 07:00: the times add up to exactly 17 hours.
    assert sum(row["time_in_status"].values()) == 17 * H
    assert row["threads_received"] == 4
    assert row["threads_answered"] == 3
    assert row["threads_closed"] == 3
    assert row["requeued"] == 1
    assert row["transferred_in"] == row["transferred_out"] == 0
    assert row["mean_first_answer_seconds"] == 30
    holding = 10 * M + 90 + 10 * M + 20 * M  # with a thread, while active or finishing
    working = (3 * H + 50 * M) + (6 * M + 30) + (1 * H + 55 * M) + 15 * M
    assert row["occupancy"] == round(holding / working, 4)
    [team] = report["teams"]
    assert team["team"] == "support"
    assert team["time_in_status"] == row["time_in_status"]
    assert team["threads_received"] == 4


async def test_p2_a_period_cutting_through_open_statuses(api: Api) -> None:
    supervisor, agent, _ = await an_agents_day(api)
    start, end = "2027-02-01T15:00:00Z", "2027-02-01T15:10:00Z"
    report = await api.json(supervisor, "GET", "/reports/workload", params={"from": start, "to": end})
    row = only(report, agent)
    # active since 13:10 counts from 15:00; finishing since 15:05 counts up to the end.
    assert row["time_in_status"] == {"active": 5 * M, "finishing": 5 * M}
    assert row["threads_received"] == 1
    assert row["occupancy"] == 1.0


async def test_p2_open_status_counts_up_to_now(api: Api) -> None:
    supervisor = await api.person("supervisor")
    api.clock.set(DAY + 9 * H)
    agent = await api.ready_agent()
    await at(api, 9 * H + 20 * M)
    report = await api.json(supervisor, "GET", "/reports/workload", params={"period": "day", "date": "2027-02-01"})
    assert report["until"] == "2027-02-01T09:20:00.000Z"
    assert only(report, agent)["time_in_status"] == {"active": 20 * M}


async def test_p2_a_period_of_several_days_clips_the_span_that_began_before_it(api: Api) -> None:
    """The whole UTC days inside the period are read from their daily sums, which hold each
    span whole: the lunch that began before the period's start and ended on one of those
    days counts only from the start."""
    supervisor = await api.person("supervisor")
    api.clock.set(DAY + 18 * H)
    agent = await api.ready_agent()
    chat = await api.person("integration")
    await at(api, 20 * H)
    await status(api, agent, "inactive", "lunch")
    await at(api, 24 * H + 10 * H)  # the next day
    await status(api, agent, "active")
    await at(api, 24 * H + 11 * H)
    thread = await api.json(chat, "POST", "/threads", {"client_id": "c1", "text": "hello"}, expect=201)
    await at(api, 24 * H + 11 * H + 20)
    await api.call(agent, "POST", f"/threads/{thread['id']}/messages", {"text": "hi"}, expect=201)
    await at(api, 24 * H + 12 * H)
    await api.call(agent, "POST", f"/threads/{thread['id']}/close", expect=200)
    await at(api, 48 * H + 3 * H)  # the day after
    await api.call(agent, "POST", "/me/logout", expect=200)
    await at(api, 72 * H + 6 * H)
    params = {"from": "2027-02-01T22:00:00Z", "to": "2027-02-04T00:00:00Z"}
    row = only(await api.json(supervisor, "GET", "/reports/workload", params=params), agent)
    assert row["time_in_status"] == {
        "inactive:lunch": 12 * H,  # 22:00 to 10:00 the next day
        "active": 17 * H,  # 10:00 to 03:00 the day after
        "offline": 21 * H,  # 03:00 to the end
    }
    assert (row["threads_received"], row["threads_answered"], row["threads_closed"]) == (1, 1, 1)
    assert row["mean_first_answer_seconds"] == 20
    assert row["occupancy"] == round(1 * H / (17 * H), 4)
    # A second shorter at each end: the same whole days, and part days at both edges.
    params = {"from": "2027-02-01T22:00:01Z", "to": "2027-02-03T23:59:59Z"}
    row = only(await api.json(supervisor, "GET", "/reports/workload", params=params), agent)
    assert row["time_in_status"] == {"inactive:lunch": 12 * H - 1, "active": 17 * H, "offline": 21 * H - 1}


async def test_p1_p2_a_custom_reason_retired_mid_period_keeps_its_label(api: Api) -> None:
    api.clock.set(DAY + 9 * H)
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await api.call(api.admin, "POST", "/reasons", {"code": "coaching", "label": "Coaching"}, expect=201)
    await status(api, agent, "inactive", "coaching")
    await at(api, 9 * H + 15 * M)
    await api.call(api.admin, "DELETE", "/reasons/coaching", expect=200)  # S1: retired, still in use
    await at(api, 9 * H + 30 * M)
    await status(api, agent, "active")
    await at(api, 10 * H)
    params = {"from": "2027-02-01T09:00:00Z", "to": "2027-02-01T10:00:00Z"}
    report = await api.json(supervisor, "GET", "/reports/workload", params=params)
    assert only(report, agent)["time_in_status"] == {"active": 30 * M, "inactive:coaching": 30 * M}
    assert report["labels"]["inactive:coaching"] == "Coaching"
    log = await api.json(supervisor, "GET", "/reports/status-log", params=params)
    assert [(e["to"]["label"], e["caused_by"]) for e in log["items"] if e["agent_id"] == agent.id][:2] == [
        ("Active", "the agent"),  # newest first
        ("Coaching", "the agent"),
    ]
    retired = await api.json(supervisor, "GET", "/reports/status-log", params={**params, "status": "inactive:coaching"})
    assert [e["to"]["label"] for e in retired["items"]] == ["Coaching"]


async def test_p2_a_day_across_the_dst_change_lasts_23_hours(api: Api) -> None:
    await api.call(api.admin, "PATCH", "/settings", {"time_zone": "Europe/Paris"}, expect=200)
    sunday = datetime(2027, 3, 27, 12, tzinfo=UTC).timestamp()  # the day before the clocks go forward
    api.clock.set(sunday)
    supervisor = await api.person("supervisor")
    agent = await api.person("agent")  # created, and offline the whole next day
    api.clock.set(datetime(2027, 3, 29, 12, tzinfo=UTC).timestamp())
    day = await api.json(supervisor, "GET", "/reports/workload", params={"period": "day", "date": "2027-03-28"})
    assert day["from"] == "2027-03-27T23:00:00.000Z"  # local midnight, UTC+1
    assert day["to"] == "2027-03-28T22:00:00.000Z"  # next local midnight, UTC+2
    assert only(day, agent)["time_in_status"] == {"offline": 23 * H}
    week = await api.json(supervisor, "GET", "/reports/workload", params={"period": "week", "date": "2027-03-25"})
    assert week["from"] == "2027-03-21T23:00:00.000Z"  # Monday 22 March, local midnight
    assert only(week, agent)["time_in_status"]["offline"] == (
        datetime(2027, 3, 28, 22, tzinfo=UTC).timestamp() - sunday
    )


async def test_p1_the_status_log_names_who_caused_each_change_and_filters(api: Api) -> None:
    supervisor, agent, _ = await an_agents_day(api)
    params = {"period": "day", "date": "2027-02-01", "agent_id": str(agent.id)}
    log = await api.json(supervisor, "GET", "/reports/status-log", params=params)
    causes = [(e["from"]["state"], e["to"]["state"], e["caused_by"]) for e in log["items"]]
    assert ("offline", "not_ready", "system: login restore") in causes
    assert ("active", "kicked_out", "system: kicked out") in causes
    assert ("finishing", "inactive", "system: finishing completed") in causes
    assert ("active", "finishing", "the agent") in causes
    lunches = await api.json(supervisor, "GET", "/reports/status-log", params={**params, "status": "lunch"})
    assert {e["to"]["label"] for e in lunches["items"]} == {"Lunch break"}
    paged = await api.json(supervisor, "GET", "/reports/status-log", params={**params, "limit": "2"})
    assert len(paged["items"]) == 2
    assert paged["next"] is not None
    rest = await api.json(supervisor, "GET", "/reports/status-log", params={**params, "before": str(paged["next"])})
    assert [e["id"] for e in paged["items"] + rest["items"]] == [e["id"] for e in log["items"]]


async def test_p1_the_status_log_lists_newest_first_and_filters_by_status_in_json_and_csv(api: Api) -> None:
    """P1: newest first in both formats, pages going back in time with `before` (oldest first
    from `after`, for a program following the log); `status` takes a state
    (`inactive`: a break for any reason), `inactive:<code>` as the workload's keys write
    it, or a bare reason code as GET /agents?status= does."""
    supervisor, agent, _ = await an_agents_day(api)
    await at(api, 24 * H + 8 * H + 10 * M)
    await status(api, agent, "inactive", "meeting")
    day = {"from": "2027-02-01T00:00:00Z", "to": "2027-02-03T00:00:00Z", "agent_id": str(agent.id)}
    log = (await api.json(supervisor, "GET", "/reports/status-log", params=day))["items"]
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
    assert [e["at"] for e in log] == sorted((e["at"] for e in log), reverse=True)
    assert (log[0]["to"]["reason"], log[-1]["to"]["state"]) == ("meeting", "not_ready")
    first = await api.json(supervisor, "GET", "/reports/status-log", params={**day, "limit": "3"})
    older = await api.json(supervisor, "GET", "/reports/status-log", params={**day, "before": str(first["next"])})
    assert [e["id"] for e in first["items"]] == [e["id"] for e in log[:3]]
    assert [e["id"] for e in older["items"]] == [e["id"] for e in log[3:]]
    forward = await api.json(supervisor, "GET", "/reports/status-log", params={**day, "after": "0", "limit": "3"})
    assert [e["id"] for e in forward["items"]] == [e["id"] for e in log[::-1][:3]]  # a program following the log
    rest = await api.json(supervisor, "GET", "/reports/status-log", params={**day, "after": str(forward["next"])})
    assert [e["id"] for e in rest["items"]] == [e["id"] for e in log[::-1][3:]]
    forward_csv = await api.call(
        supervisor, "GET", "/reports/status-log", params={**day, "after": "0", "format": "csv"}
    )
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(forward_csv.text))] == [e["id"] for e in log[::-1]]
    both = await api.call(supervisor, "GET", "/reports/status-log", params={**day, "after": "0", "before": "9"})
    assert (both.status_code, api.error(both)["field"]) == (400, "before")

    async def changes(status_filter: str) -> list[tuple[str, str | None, str]]:
        params = {**day, "status": status_filter}
        found = (await api.json(supervisor, "GET", "/reports/status-log", params=params))["items"]
        response = await api.call(supervisor, "GET", "/reports/status-log", params={**params, "format": "csv"})
        assert response.status_code == 200, response.text
        from_csv = [
            (r["to_state"], r["to_reason"] or None, r["at"]) for r in csv.DictReader(io.StringIO(response.text))
        ]
        from_json = [(e["to"]["state"], e["to"]["reason"], e["at"]) for e in found]
        assert from_csv == from_json, status_filter  # the same rows, in the same order
        return from_json

    lunches = await changes("inactive:lunch")
    assert [(state, reason) for state, reason, _ in lunches] == [
        ("inactive", "lunch")
    ] * 3  # 12:00, 15:20, 08:00 next day
    assert lunches == sorted(lunches, key=lambda change: change[2], reverse=True)
    assert await changes("lunch") == lunches
    assert {reason for _, reason, _ in await changes("inactive")} == {"lunch", "meeting"}
    assert [state for state, _, _ in await changes("kicked_out")] == ["kicked_out"]
    assert [(state, reason) for state, reason, _ in await changes("finishing")] == [("finishing", "lunch")]
    assert len(await changes("active")) == 3
    assert await changes("short_break") == []  # a reason nobody took: nothing, not an error
    for bad in ("nap", "inactive:nap", "inactive:active", "Lunch", "inactive:", "active_free"):
        for fmt in ("json", "csv"):
            refused = await api.call(
                supervisor, "GET", "/reports/status-log", params={**day, "status": bad, "format": fmt}
            )
            assert refused.status_code == 400, (bad, fmt, refused.text)
            assert api.error(refused)["field"] == "status", bad
            if bad != "Lunch":  # a malformed value is refused by its pattern, before it is looked up
                assert repr(bad) in api.error(refused)["message"], bad


async def test_p1_p2_csv_downloads(api: Api) -> None:
    supervisor, agent, _ = await an_agents_day(api)
    params = {"period": "day", "date": "2027-02-01", "format": "csv"}
    response = await api.call(supervisor, "GET", "/reports/status-log", params=params, expect=200)
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["to_label"] for r in rows} >= {"Lunch break", "Inactive (kicked out)", "Active (finishing → Lunch break)"}
    assert all(r["team"] == "support" for r in rows)
    response = await api.call(supervisor, "GET", "/reports/workload", params=params, expect=200)
    table = list(csv.DictReader(io.StringIO(response.text)))
    mine = next(r for r in table if r["agent_id"] == str(agent.id))
    assert float(mine["seconds Lunch break"]) == 1 * H + 10 * M
    assert table[-1]["name"] == "team total: support"


async def test_p1_p2_supervisors_see_only_their_team(api: Api) -> None:
    await an_agents_day(api)
    other = await api.person("supervisor", team="billing")
    report = await api.json(other, "GET", "/reports/workload", params={"period": "day", "date": "2027-02-01"})
    assert report["agents"] == []
    log = await api.json(other, "GET", "/reports/status-log", params={"period": "day", "date": "2027-02-01"})
    assert log["items"] == []
    refused = await api.call(other, "GET", "/reports/workload", params={"period": "day", "team": "support"}, expect=403)
    assert api.error(refused)["field"] == "team"


async def test_p1_p2_bad_periods_are_refused_with_the_field(api: Api) -> None:
    supervisor = await api.person("supervisor")
    for params, field in (
        ({"period": "month"}, "period"),
        ({"period": "day", "date": "2027-13-40"}, "date"),
        ({"from": "yesterday", "to": "2027-02-01T00:00:00Z"}, "from"),
        ({"from": "2027-02-02T00:00:00Z", "to": "2027-02-01T00:00:00Z"}, "to"),
        ({"from": "2027-02-01T00:00:00Z"}, "to"),
        ({"period": "day", "format": "xml"}, "format"),
    ):
        response = await api.call(supervisor, "GET", "/reports/workload", params=params, expect=400)
        assert api.error(response)["field"] == field, params


async def test_p1_p2_without_a_period_both_reports_cover_today_in_utc(api: Api) -> None:
    api.clock.set(DAY + 9 * H)
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await at(api, 9 * H + 20 * M)
    report = await api.json(supervisor, "GET", "/reports/workload", expect=200)
    assert (report["from"], report["to"]) == ("2027-02-01T00:00:00.000Z", "2027-02-02T00:00:00.000Z")
    assert only(report, agent)["time_in_status"] == {"active": 20 * M}
    log = await api.json(supervisor, "GET", "/reports/status-log", expect=200)
    assert (log["from"], log["to"]) == ("2027-02-01T00:00:00.000Z", "2027-02-02T00:00:00.000Z")
    assert [e["to"]["state"] for e in log["items"] if e["agent_id"] == agent.id] == ["active", "not_ready"]


async def test_p1_p2_without_a_period_today_is_the_workspace_time_zones_day(api: Api) -> None:
    """At 02:00 UTC on 1 February it is still 31 January in New York (UTC-5): today there
    runs from 05:00 UTC on the 31st to 05:00 UTC on the 1st. A change at 04:00 UTC on the
    31st was yesterday there; one at 06:00 UTC was today."""
    await api.call(api.admin, "PATCH", "/settings", {"time_zone": "America/New_York"}, expect=200)
    api.clock.set(DAY - 20 * H)  # 31 January, 04:00 UTC: the 30th, 23:00 in New York
    supervisor = await api.person("supervisor")
    agent = await api.person("agent")
    await api.call(agent, "POST", "/me/login", expect=200)  # yesterday, there
    await at(api, -18 * H)  # 31 January, 06:00 UTC: 01:00 in New York
    await status(api, agent, "active")
    await at(api, 2 * H)  # 1 February, 02:00 UTC: 21:00 on the 31st in New York
    today = ("2027-01-31T05:00:00.000Z", "2027-02-01T05:00:00.000Z")
    log = await api.json(supervisor, "GET", "/reports/status-log", expect=200)
    assert (log["from"], log["to"]) == today
    assert [(e["from"]["state"], e["to"]["state"]) for e in log["items"]] == [("not_ready", "active")]
    report = await api.json(supervisor, "GET", "/reports/workload", expect=200)
    assert (report["from"], report["to"], report["time_zone"]) == (*today, "America/New_York")
    # not ready from local midnight (05:00 UTC) to 06:00 UTC, then active up to now (02:00 UTC)
    assert only(report, agent)["time_in_status"] == {"not_ready": 1 * H, "active": 20 * H}
    csv_log = await api.call(supervisor, "GET", "/reports/status-log", params={"format": "csv"}, expect=200)
    assert len(list(csv.reader(io.StringIO(csv_log.text)))) == 1 + 1  # the header and today's one change
