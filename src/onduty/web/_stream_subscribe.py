"""Subscriptions on the live stream: what a page tells `GET /events` it shows.

At open, `?subscribe=<JSON object>`; on an open stream, the message
`{"subscribe": <JSON object>}`. The object (every key optional):

    {"teams": ["a", "b"] | "all",   the teams whose events it takes (default: none)
     "queue": true | false,          the general queue's events (default: false)
     "presence": "teams" | "all"}    other agents' status changes too, coalesced (default: "teams")

A new subscription replaces the previous one whole. The user's own events and the public
catalogue always come; nothing the role may not see ever does (service/stream_filter.py).
docs/rules.md, "API extensions", is the contract.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect as mi
from msgspec import Meta, Struct

from onduty.domain.statuses import presence_of
from onduty.domain.types import State
from onduty.domain.validate import MAX_TEAM
from onduty.journal import StoredEvent
from onduty.service.stream_filter import Selection
from onduty.timefmt import iso
from onduty.web._input_words import in_words

MAX_TEAMS = 1000
_WHERE = re.compile(r" - at `\$(.*)`$")


class StreamSubscription(Struct, forbid_unknown_fields=True, frozen=True):
    teams: (
        Annotated[list[Annotated[str, Meta(min_length=1, max_length=MAX_TEAM)]], Meta(max_length=MAX_TEAMS)]
        | (Literal["all"])
    ) = []
    queue: bool = False
    presence: Literal["teams", "all"] = "teams"


class BadSubscription(ValueError):
    """What was wrong with a subscription, and where (`subscribe.teams[2]`)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def parse(value: Any) -> Selection:
    """The selection a subscription object asks for (decoded JSON); BadSubscription if it
    is not one."""
    try:
        asked = msgspec.convert(value, StreamSubscription, strict=True)
    except msgspec.ValidationError as error:
        text = str(error)
        where = _WHERE.search(text)
        said = in_words(text, path=["subscribe"], info=mi.type_info(StreamSubscription), value=value)
        raise BadSubscription(said.message, "subscribe" + (where.group(1) if where else "")) from None
    teams = None if asked.teams == "all" else frozenset(asked.teams)
    return Selection(teams=teams, queue=asked.queue, presence_all=asked.presence == "all")


def parse_text(text: str) -> Selection:
    """`?subscribe=` at open: the same object, as JSON text."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as error:
        raise BadSubscription(f"not JSON: {error}", "subscribe") from None
    return parse(value)


def view(selection: Selection | None) -> dict[str, Any] | None:
    """The subscription as the server understood it (None: none, everything the role may see)."""
    if selection is None:
        return None
    return {
        "teams": "all" if selection.teams is None else sorted(selection.teams),
        "queue": selection.queue,
        "presence": "all" if selection.presence_all else "teams",
    }


def presence_changed(events: list[StoredEvent]) -> dict[str, Any]:
    """One frame for agents' coalesced status changes: each agent's latest
    `agent.status_changed` data, with `presence` (W4) always there."""
    changes = []
    for event in events:
        data = event.data
        if "presence" not in data:  # a change the command's `agent.updated` completes (team only)
            data = {**data, "presence": presence_of(State(data["to_state"])).value}
        changes.append(data)
    return {"id": None, "name": "presence.changed", "at": iso(events[-1].at), "data": {"changes": changes}}
