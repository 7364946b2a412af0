"""S10 time limits and W5 the floor at a glance, through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.service.clock import ManualClock
from onduty.service.service import Service
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.integration.api_client import Api, Person
from tests.integration.flows import answer, client_says, set_status
from tests.integration.test_events_ws import about, is_reason, sentinel, stream


async def floor(api: Api, who: Person, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = await api.json(who, "GET", "/floor", params=params or None, expect=200)
    return found


async def listed(api: Api, who: Person, status: str, team: str | None = None) -> list[int]:
    params = {"status": status} | ({"team": team} if team else {})
    return [row["id"] for row in await api.json(who, "GET", "/agents", params=params, expect=200)]


def filter_of(key: str) -> str:
    """The `GET /agents?status=` filter a floor count stands for."""
    return key.removeprefix("inactive:")


async def test_s10_a_reason_carries_max_minutes_and_an_agent_past_it_is_overdue_once(api: Api) -> None:
    supervisor = await api.person("supervisor")
    made = await api.json(api.admin, "POST", "/reasons", {"code": "gym", "label": "Gym", "max_minutes": 45}, expect=201)
    assert made["max_minutes"] == 45
    lunch = await api.json(api.admin, "PATCH", "/reasons/lunch", {"max_minutes": 1}, expect=200)
    assert (lunch["label"], lunch["max_minutes"]) == ("Lunch break", 1)
    relabelled = await api.json(api.admin, "PATCH", "/reasons/gym", {"label": "Gym hour"}, expect=200)
    assert relabelled["max_minutes"] == 45  # absent: unchanged
    cleared = await api.json(api.admin, "PATCH", "/reasons/gym", {"max_minutes": None}, expect=200)
    assert cleared["max_minutes"] is None  # null: no limit
    catalogue = {r["code"]: r["max_minutes"] for r in await api.json(api.admin, "GET", "/reasons", expect=200)}
    assert (catalogue["lunch"], catalogue["gym"], catalogue["meeting"]) == (1, None, None)

    agent = await api.ready_agent()
    async with stream(api, supervisor) as sup:
        await set_status(api, agent, "inactive", "lunch")
        row = await api.json(supervisor, "GET", f"/agents/{agent.id}", expect=200)
        assert row["overdue"] is False and row["overdue_at"] is not None  # a page can mark it live
        await api.advance(59)
        assert await listed(api, supervisor, "overdue") == []
        await api.advance(1)
        assert await listed(api, supervisor, "overdue") == [agent.id]
        await api.advance(600)  # and later still: said once
        code = await sentinel(api)
        seen = await sup.until("reason.saved", is_reason(code))
    mine = [e for e in seen if about(agent)(e)]
    started = next(e for e in mine if e["name"] == "agent.status_changed")
    assert (started["data"]["overdue"], started["data"]["overdue_at"]) == (False, row["overdue_at"])
    overdue = [e for e in mine if e["name"] == "agent.overdue"]
    assert [e["data"] for e in overdue] == [
        {"agent_id": agent.id, "reason": "lunch", "since": row["status"]["since"], "max_minutes": 1}
    ]
    assert overdue[0]["at"] == row["overdue_at"]
    [updated] = [e for e in mine if e["name"] == "agent.updated"]  # the row reaches dashboards
    assert (updated["data"]["agent"]["overdue"], updated["data"]["agent"]["overdue_at"]) == (True, row["overdue_at"])
    assert updated["id"] > overdue[0]["id"]
    # Nothing else changed: still at lunch, set by themselves, since they went.
    now = await api.json(supervisor, "GET", f"/agents/{agent.id}", expect=200)
    assert (now["status"]["state"], now["status"]["reason"], now["overdue"]) == ("inactive", "lunch", True)
    assert now["status"]["set_by"] == {"kind": "agent", "id": agent.id, "why": None}
    assert now["status"]["since"] == row["status"]["since"]

    # A limit raised past the time taken: no longer overdue; the agent's row says so live.
    async with stream(api, supervisor) as sup:
        await api.call(api.admin, "PATCH", "/reasons/lunch", {"max_minutes": 60}, expect=200)
        code = await sentinel(api)
        seen = await sup.until("reason.saved", is_reason(code))
    [updated] = [e for e in seen if e["name"] == "agent.updated" and about(agent)(e)]
    assert updated["data"]["agent"]["overdue"] is False
    assert await listed(api, supervisor, "overdue") == []


async def test_w5_the_floors_counts_are_what_the_status_filters_list(api: Api) -> None:
    """Every count of `GET /floor` equals the length of `GET /agents?status=` for the same
    scope: a supervisor's team, the whole floor, one team (admin)."""
    await api.call(api.admin, "PATCH", "/reasons/short_break", {"max_minutes": 1}, expect=200)
    await api.call(api.admin, "POST", "/reasons", {"code": "gone", "label": "Gone"}, expect=201)
    supervisor = await api.person("supervisor", team="a")
    team_a = [await api.ready_agent(team="a") for _ in range(4)]
    team_b = [await api.ready_agent(team="b") for _ in range(2)]
    await api.person("agent", team="a")  # never logged in: offline
    busy = await client_says(api, "c1")
    await set_status(api, team_a[1], "inactive", "short_break")
    await set_status(api, team_a[2], "inactive", "gone")
    await set_status(api, team_b[0], "inactive", "short_break")
    await set_status(api, team_a[3], "not_ready")
    await api.advance(61)  # two overdue, one of each team
    await set_status(api, team_b[1], "active_own_clients")
    await api.call(api.admin, "DELETE", "/reasons/gone", expect=200)  # retired: still counted while someone is in it
    await client_says(api, "c2")
    assert busy["agent_id"] is not None

    scopes: list[tuple[Person, dict[str, Any], str | None]] = [
        (supervisor, {}, "a"),
        (api.admin, {}, None),
        (api.admin, {"team": "b"}, "b"),
    ]
    for who, params, team in scopes:
        shown = await floor(api, who, **params)
        counts = shown["counts"]
        for key, count in counts.items():
            assert len(await listed(api, who, filter_of(key), team)) == count, (team, key)
        assert {"active", "active_free", "not_ready", "finishing", "kicked_out", "offline", "overdue"} <= set(counts)
        assert {"inactive:lunch", "inactive:short_break", "inactive:meeting"} <= set(counts)  # zeros too
        everyone = await api.json(who, "GET", "/agents", params={"team": team} if team else None, expect=200)
        states = ("offline", "not_ready", "active", "active_own_clients", "finishing", "inactive", "kicked_out")
        assert sum(counts[s] for s in states) == len(everyone)
        queue = await api.json(api.admin, "GET", "/queue", expect=200)
        assert shown["queue"] == {k: queue[k] for k in ("length", "oldest_wait_seconds", "routing")}
    a, everywhere = (await floor(api, supervisor))["counts"], (await floor(api, api.admin))["counts"]
    assert (a["overdue"], everywhere["overdue"], a["inactive:gone"], a["offline"]) == (1, 2, 1, 1)
    assert "inactive:gone" not in (await floor(api, api.admin, team="b"))["counts"]  # retired, nobody in it


async def test_w5_today_is_the_workload_reports_day_with_the_service_level(api: Api) -> None:
    """received, answered and the mean time to first answer equal the workload report's
    totals for today (team and floor); the service level is the share of them that reached
    an agent within service_level_target of arrival."""
    await api.call(api.admin, "PATCH", "/settings", {"service_level_target": 30}, expect=200)
    supervisor = await api.person("supervisor", team="a")
    ann = await api.ready_agent(team="a", capacity=1)
    bob = await api.ready_agent(team="b", capacity=1)
    first = await client_says(api, "c1")  # to someone at once
    second = await client_says(api, "c2")  # to the other at once
    late = await client_says(api, "c3")  # waits: both full
    await api.advance(10)
    held = {first["agent_id"]: first, second["agent_id"]: second}
    await answer(api, ann, held[ann.id]["id"])
    await api.advance(40)
    await api.call(ann, "POST", f"/threads/{held[ann.id]['id']}/close", expect=200)  # c3 to ann after 50 s
    await answer(api, bob, held[bob.id]["id"])
    await answer(api, ann, late["id"])
    await api.advance(1)  # the day so far ends now, exclusive (as the report's does)

    for who, params, team in ((supervisor, {}, "a"), (api.admin, {}, None), (api.admin, {"team": "b"}, "b")):
        today = (await floor(api, who, **params))["today"]
        report = await api.json(who, "GET", "/reports/workload", params={"period": "day", **params}, expect=200)
        rows = [t for t in report["teams"] if team is None or t["team"] == team]
        received = sum(t["threads_received"] for t in rows)
        answered = sum(t["threads_answered"] for t in rows)
        assert (today["received"], today["answered"]) == (received, answered)
        if team is not None:
            [only] = rows
            assert today["mean_first_answer_seconds"] == only["mean_first_answer_seconds"]
        assert today["service_level_target"] == 30
    assert (await floor(api, supervisor))["today"] | {"mean_first_answer_seconds": None} == {
        "received": 2,
        "answered": 2,
        "mean_first_answer_seconds": None,
        "service_level": 0.5,  # c1 at once, c3 after 50 s
        "service_level_target": 30,
    }
    whole = (await floor(api, api.admin))["today"]
    assert (whole["received"], whole["service_level"]) == (3, round(2 / 3, 4))
    assert whole["mean_first_answer_seconds"] == round((10 + 0 + 50) / 3, 3)  # bob answered 50 s after his
    nobody = (await floor(api, api.admin, team="nobody"))["today"]
    assert (nobody["received"], nobody["service_level"]) == (0, None)


async def test_w5_the_floor_is_for_supervisors_of_their_team_and_admins(api: Api) -> None:
    supervisor = await api.person("supervisor", team="a")
    assert (await floor(api, supervisor, team="a"))["counts"]["offline"] == 0
    refused = await api.call(supervisor, "GET", "/floor", params={"team": "b"}, expect=403)
    assert api.error(refused)["field"] == "team"
    for role in ("agent", "integration"):
        await api.call(await api.person(role), "GET", "/floor", expect=403)
    await api.call(None, "GET", "/floor", expect=401)


async def test_s10_overdue_survives_a_restart_neither_repeated_nor_lost(store: SqlStore) -> None:
    """An agent overdue before the stop stays overdue and is not told again; one whose moment
    came while the service was down is told once, when it is back."""
    clock = ManualClock()
    users = UserStore(store)
    service = Service(store, clock=clock)
    await service.start()
    try:
        ids = []
        for name in ("ann", "bob"):
            user = await users.create(username=name, name=name, role="agent", team="t", password_hash=None, now=0)
            await service.execute(c.RegisterAgent(user.id, "t", None, name=name, username=name))
            await service.execute(c.Login(user.id))
            ids.append(user.id)
        ann, bob = ids
        await service.execute(c.ChangeReason("lunch", max_minutes=1))
        await service.execute(c.SetStatus(ann, State.INACTIVE, "lunch", Actor.agent(ann)))
        clock.advance(30)
        await service.execute(c.SetStatus(bob, State.INACTIVE, "lunch", Actor.agent(bob)))
        clock.advance(30)
        await service.settle()  # ann overdue now; bob in 30 s
        assert service.workspace.agents[ann].overdue and not service.workspace.agents[bob].overdue
    finally:
        await service.stop()

    clock.advance(45)  # bob's moment passes while nobody runs
    again = Service(store, clock=clock)
    await again.start()
    try:
        await again.settle()
        clock.advance(600)
        await again.settle()
        assert again.workspace.agents[ann].overdue and again.workspace.agents[bob].overdue
        told = [e for e in await store.events_after(0, 1000) if e.name == "agent.overdue"]
        assert [e.data["agent_id"] for e in told] == [ann, bob]
        assert told[1].at == told[0].at + 45  # bob's, when the service came back
    finally:
        await again.stop()
