"""The live stream's selection (service/stream_filter.py): a page's subscription narrows
what its role may see, never widens it; status changes of teams it does not show come
coalesced only when asked, and S10's overdue marks only for the teams it shows."""

from __future__ import annotations

from typing import Any

from onduty.journal import StoredEvent
from onduty.service.fanout import NOW
from onduty.service.stream_filter import Selection, selector
from onduty.storage.users import User

SUPERVISOR_A = User(1, "sa", "Sup A", "supervisor", "a", True)
AGENT_A = User(2, "aa", "Ann", "agent", "a", True)


def _event(name: str, data: dict[str, Any], scope: dict[str, Any]) -> StoredEvent:
    return StoredEvent(id=1, name=name, at=0.0, data=data, scope=scope)


def _public(name: str, agent_id: int, team: str) -> StoredEvent:
    return _event(name, {"agent_id": agent_id}, {"agents": [agent_id], "teams": [team], "public": True})


def test_w5_s10_overdue_marks_reach_the_pages_showing_their_team_only() -> None:
    """S10: `agent.overdue` goes where a status change goes; another team's is not sent to a
    narrowed page, even one that takes every agent's presence (that comes coalesced, as
    status changes only)."""
    team_a = selector(SUPERVISOR_A, Selection(teams=frozenset({"a"}), queue=True))
    everyone = selector(AGENT_A, Selection(presence_all=True))
    assert team_a(_public("agent.overdue", 5, "a")) is NOW
    assert team_a(_public("agent.overdue", 6, "b")) is None
    assert everyone(_public("agent.overdue", 6, "b")) is None
    assert everyone(_public("agent.status_changed", 6, "b")) == 6  # kept for presence.changed
    assert selector(SUPERVISOR_A, None)(_public("agent.overdue", 6, "b")) is NOW  # no subscription: as before


def test_a_subscription_never_widens_what_the_role_may_see() -> None:
    """A supervisor naming another team, or every team, gets no private event of it."""
    every_team = selector(SUPERVISOR_A, Selection(teams=None, queue=True, presence_all=True))
    private_row = _event("agent.updated", {"agent": {"id": 6}}, {"agents": [6], "teams": ["b"], "public": False})
    assert every_team(private_row) is None
    assert every_team(_event("agent.updated", {"agent": {"id": 5}}, {"agents": [5], "teams": ["a"]})) is NOW
