"""What one live event stream sends: what its user's role may see (`may_see`), narrowed
by what its page shows (a `Selection`, docs/rules.md "API extensions").

One function decides it for every event, whichever way the event comes: `selector`
gives the stream's `Select` (service/fanout.py), asked as each live event is offered
and for each event of a resumed stream's backlog. A stream with no selection gets
everything its role may see, as before selections existed.

Why selections: every status change is public (W4), so every dashboard received every
agent's changes. At 15,000 agents and 2,000 dashboards that is more frames than one
instance sends; a supervisor's page shows one team. Other teams' presence reaches a page
only while it shows it (a transfer picker), and then coalesced: the latest status change
of each agent, at most once a second (web/_events_ws.py, `presence.changed`).
"""

from __future__ import annotations

from dataclasses import dataclass

from onduty.domain.chat import Room, is_member
from onduty.journal import StoredEvent
from onduty.service.accounts import User
from onduty.service.fanout import NOW, Select

STATUS_CHANGED = "agent.status_changed"  # an agent's presence: public (W4), the most frequent event
OVERDUE = "agent.overdue"  # S10: goes where a status change goes, never coalesced


def may_see(user: User, event: StoredEvent) -> bool:
    """What the user's role and team allow (PRODUCT.md, "Everywhere"; docs/rules.md)."""
    scope = event.scope
    if "chat" in scope:  # C1: its people only, admins included (a room is any admin's to join)
        room = scope.get("room")
        return user.id in scope["users"] or (room is not None and is_member(Room(room), user.id, user.role, user.team))
    if user.role == "admin":
        return True
    if user.role == "integration":
        return "thread" in scope  # the channel carrying conversations to and from clients
    if user.role == "supervisor":
        return bool(scope.get("public") or user.team in scope.get("teams", ()) or scope.get("queue"))
    return user.id in scope.get("agents", ()) or bool(scope.get("public"))


@dataclass(frozen=True, slots=True)
class Selection:
    """What a page shows. `teams`: the teams whose events it takes (None: every team);
    `queue`: the general queue's events (`queue.changed`, queued threads); `presence_all`:
    the status changes of agents outside those teams too, coalesced. Always taken: the
    user's own events, and the public catalogue (reasons, settings, agents added or moved)."""

    teams: frozenset[str] | None = frozenset()
    queue: bool = False
    presence_all: bool = False


def selector(user: User, selection: Selection | None) -> Select:
    """The stream's choice for each event: None (not sent), NOW (sent as it is), or the
    agent's id (a status change outside the selected teams, kept for `presence.changed`)."""
    if selection is None:
        return lambda event: NOW if may_see(user, event) else None
    me = user.id
    teams = selection.teams
    queue = selection.queue
    presence_all = selection.presence_all

    def select(event: StoredEvent) -> int | None:
        # What the page shows first: most events are not for a narrow page, and that is
        # quicker to tell (this runs for every page at every event).
        scope = event.scope
        if "chat" in scope:  # a page shows its person's conversations, whatever teams it shows
            return NOW if may_see(user, event) else None
        key: int | None = NOW
        event_teams = scope.get("teams", ())
        shown = event_teams and (teams is None or not teams.isdisjoint(event_teams))
        if not shown and me not in scope.get("agents", ()):  # neither a shown team's nor one's own
            if event.name == STATUS_CHANGED:
                if not presence_all:
                    return None
                key = event.data["agent_id"]
            elif event.name == OVERDUE or not (scope.get("public") or (queue and scope.get("queue"))):
                return None  # S10's overdue marks: public as a status change is, for the teams shown only
        return key if may_see(user, event) else None

    return select
