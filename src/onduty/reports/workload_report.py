"""The workload report's rows (P2): each agent's totals beside who they are, each team's
totals, and what each status key reads as. The totals come from workload.py; the period's
bounds and time zone are the caller's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from onduty.domain.types import State
from onduty.reports.status_log import label, reason_labels
from onduty.reports.workload import Totals, workload
from onduty.storage import schema as t
from onduty.storage.store import SqlStore

STATUS_VALUES = frozenset(state.value for state in State)

_PEOPLE = select(t.agents.c.id, t.agents.c.team, t.users.c.username, t.users.c.name).join(
    t.users, t.users.c.id == t.agents.c.id
)


@dataclass(frozen=True, slots=True)
class WorkloadRows:
    labels: dict[str, str]  # each time_in_status key's label
    agents: list[dict[str, Any]]  # by name, then id
    teams: list[dict[str, Any]]  # each team's totals, by its name


async def workload_rows(store: SqlStore, *, start: float, end: float, teams: list[str] | None) -> WorkloadRows:
    """Over [start, end), for these teams (None: every team)."""
    per_agent = await workload(store, start=start, end=end)
    people = {r.id: r for r in await store.fetch(_PEOPLE)}
    agents: list[dict[str, Any]] = []
    by_team: dict[str, Totals] = defaultdict(Totals)
    for agent_id in sorted(per_agent, key=lambda a: (people[a].name.lower() if a in people else "", a)):
        person = people.get(agent_id)
        if person is None or (teams is not None and person.team not in teams):
            continue
        totals = per_agent[agent_id]
        by_team[person.team].add(totals)
        agents.append(
            {"agent_id": agent_id, "username": person.username, "name": person.name, "team": person.team}
            | totals.view()
        )
    team_rows = [{"team": team} | totals.view() for team, totals in sorted(by_team.items())]
    return WorkloadRows(await status_labels(store), agents, team_rows)


async def scope_totals(
    store: SqlStore, *, start: float, end: float, teams: list[str] | None, within: float | None = None
) -> Totals:
    """The totals over [start, end) of these teams (None: every team) together: the sum of
    their rows in `workload_rows` (W5's day so far), with the threads received `within`."""
    per_agent = await workload(store, start=start, end=end, within=within)
    team_of = {r.id: r.team for r in await store.fetch(_PEOPLE)}
    total = Totals()
    for agent_id, totals in per_agent.items():
        team = team_of.get(agent_id)
        if team is not None and (teams is None or team in teams):
            total.add(totals)
    return total


async def status_labels(store: SqlStore) -> dict[str, str]:
    """What each time_in_status key reads as, retired reasons included (S1)."""
    reasons = await reason_labels(store)
    labels = {state: label(state, None, reasons) for state in STATUS_VALUES if state != "inactive"}
    return labels | {f"inactive:{code}": text for code, text in reasons.items()}
