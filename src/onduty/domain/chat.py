"""Internal chat (C1): which conversation an id names, and who belongs to it.

A conversation is named, not created: a direct conversation by its two people, a team's
room by the team. Its id says which (`d3-17`: users 3 and 17, the lower first;
`t-<the team's name in URL-safe base64>`), so two people writing to each other for the
first time at once land in one conversation without a lookup or a row to race for, and
an id is safe in a URL whatever the team is called.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from onduty.domain.errors import DomainError, NotFound

MAX_CHAT_TEXT = 4000
MAX_CONVERSATION_ID = 160  # a room's id for a team name of the longest (80 characters of up to 4 bytes)
# The roles that chat: people. An integration is a program (it has no presence, nobody writes to it).
CHAT_ROLES = ("agent", "supervisor", "admin")
ROOM_ROLES = ("agent", "supervisor")  # a team's room: its agents and supervisors; admins may join any


@dataclass(frozen=True, slots=True)
class Direct:
    low: int
    high: int

    @property
    def id(self) -> str:
        return f"d{self.low}-{self.high}"

    def other(self, user_id: int) -> int:
        return self.high if user_id == self.low else self.low


@dataclass(frozen=True, slots=True)
class Room:
    team: str

    @property
    def id(self) -> str:
        return "t-" + base64.urlsafe_b64encode(self.team.encode()).decode().rstrip("=")


Conversation = Direct | Room


def direct(a: int, b: int) -> Direct:
    if a == b:
        raise DomainError("you cannot write to yourself", field="to_user_id")
    return Direct(min(a, b), max(a, b))


def parse(conversation_id: object) -> Conversation:
    """The conversation an id names; NotFound (field `conversation_id`) for anything else."""
    if not isinstance(conversation_id, str) or len(conversation_id) > MAX_CONVERSATION_ID:
        raise _not_an_id(conversation_id)
    if conversation_id.startswith("t-"):
        encoded = conversation_id[2:]
        try:
            team = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _not_an_id(conversation_id) from None
        room = Room(team)
        if not team.strip() or room.id != conversation_id:  # one spelling per room
            raise _not_an_id(conversation_id)
        return room
    low, dash, high = conversation_id[1:].partition("-")
    if conversation_id[:1] == "d" and dash and low.isascii() and high.isascii() and low.isdigit() and high.isdigit():
        pair = Direct(int(low), int(high))
        if 0 < pair.low < pair.high and pair.id == conversation_id:
            return pair
    raise _not_an_id(conversation_id)


def _not_an_id(value: object) -> NotFound:
    return NotFound(f"no conversation with id {value!r}", field="conversation_id")


def is_member(conversation: Conversation, user_id: int, role: str, team: str | None) -> bool:
    """May this person read and write here? A direct conversation: its two people. A room: its
    team's agents and supervisors, and any admin."""
    if role not in CHAT_ROLES:
        return False
    if isinstance(conversation, Direct):
        return user_id in (conversation.low, conversation.high)
    return role == "admin" or (role in ROOM_ROLES and team == conversation.team)


def text(value: object) -> str:
    """A message's text: not blank, at most MAX_CHAT_TEXT characters; kept as typed."""
    if not isinstance(value, str) or not value.strip():
        raise DomainError("text must not be empty", field="text")
    if "\x00" in value:
        raise DomainError("text must not contain the NUL character", field="text")
    if len(value) > MAX_CHAT_TEXT:
        raise DomainError(f"text must be at most {MAX_CHAT_TEXT} characters (it has {len(value)})", field="text")
    return value
