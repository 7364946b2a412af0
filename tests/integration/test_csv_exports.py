"""CSV exports (P1, P2) never hand a spreadsheet a formula: text from users and config that
starts with =, +, -, @, a tab or a carriage return comes out behind a `'` (OWASP), while the
numbers the service writes stay numbers. On SQLite and PostgreSQL, through the real API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx

from tests.integration.api_client import Api, Person
from tests.integration.flows import add_reason, set_status, set_status_of

DAY = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
HYPERLINK = '=HYPERLINK("http://x","y")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what OWASP says a spreadsheet may run
PARAMS = {"period": "day", "date": "2027-03-01", "format": "csv"}


async def created(api: Api, body: dict[str, object]) -> Person:
    user = await api.json(api.admin, "POST", "/users", body, expect=201)
    return Person(user["id"], user["username"], user["role"], user["token"], body.get("team"))  # type: ignore[arg-type]


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text, newline="")))
    for row in table:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)
            assert not column.startswith(FORMULA_STARTS), column
    return table


async def formula_day(api: Api) -> tuple[Person, Person]:
    """A reason labelled with a formula; an agent and a supervisor whose username, name and
    team are formulas; the supervisor moves the agent, so their name is the log's actor."""
    api.clock.set(DAY + 9 * 3600)
    await add_reason(api, "formula", HYPERLINK)
    agent = await created(api, {"username": "=1+2", "name": "@SUM(A1)", "role": "agent", "team": "+1"})
    boss = await created(api, {"username": "-1+1", "name": "-1+1", "role": "supervisor", "team": "+1"})
    tab = await created(api, {"username": "tab", "name": "\tTab", "role": "agent", "team": "support"})
    cr = await created(api, {"username": "cr", "name": "\rCR", "role": "agent", "team": "support"})
    for person in (agent, tab, cr):
        await api.call(person, "POST", "/me/login", expect=200)
        await set_status(api, person, "active")
    await api.advance(600)
    await set_status(api, agent, "inactive", "formula")
    await api.advance(900)
    await set_status_of(api, boss, agent, "active")
    await api.advance(300)
    return agent, boss


async def test_p1_status_log_csv_escapes_formulas_and_keeps_numbers(api: Api) -> None:
    agent, _ = await formula_day(api)
    response = await api.call(api.admin, "GET", "/reports/status-log", params=PARAMS, expect=200)
    table = rows(response)
    mine = [r for r in table if r["agent_id"] == str(agent.id)]
    assert {(r["username"], r["name"], r["team"]) for r in mine} == {("'=1+2", "'@SUM(A1)", "'+1")}
    to_reason = next(r for r in mine if r["to_reason"] == "formula")
    assert to_reason["to_label"] == "'" + HYPERLINK
    back = next(r for r in mine if r["from_reason"] == "formula")
    assert (back["from_label"], back["actor_kind"], back["actor_name"]) == ("'" + HYPERLINK, "supervisor", "'-1+1")
    assert back["id"].isdigit() and back["actor_id"].isdigit()
    names = {r["name"] for r in table}
    assert {"'\tTab", "'\rCR"} <= names
    assert '"\'\rCR"' in response.text  # the carriage return stays inside a quoted cell


async def test_p2_workload_csv_escapes_formulas_and_keeps_numbers(api: Api) -> None:
    agent, _ = await formula_day(api)
    response = await api.call(api.admin, "GET", "/reports/workload", params=PARAMS, expect=200)
    table = rows(response)
    mine = next(r for r in table if r["agent_id"] == str(agent.id))
    assert (mine["username"], mine["name"], mine["team"]) == ("'=1+2", "'@SUM(A1)", "'+1")
    assert float(mine[f"seconds {HYPERLINK}"]) == 900.0  # a number, not text
    assert float(mine["threads_received"]) == 0
    total = next(r for r in table if r["name"] == "team total: +1")
    assert (total["agent_id"], total["team"]) == ("", "'+1")
    assert {r["name"] for r in table} >= {"'\tTab", "'\rCR"}
    assert '"\'\rCR"' in response.text
