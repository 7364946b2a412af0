"""Single-use tickets that open the event stream, so that no token sits in a URL.

A page asks for a ticket (with its token, in a header) just before it opens the
stream, and puts the ticket in the stream's URL instead of the token: whatever
writes URLs down (an access log, a proxy's log, the browser's history) then holds
a key that worked once, for a few seconds, and opens nothing more.

Only each ticket's SHA-256 is kept, as for tokens: a ticket carries 256 random
bits, so a fast hash is enough, and a dump of this process's memory yields no
ticket that works. Time is the service's clock, so that tests can move it.

Memory is bounded whatever clients do:

- at most `PER_HOLDER` unused tickets per holder (a person). A page spends its
  ticket within a moment of getting it; ten cover a person's tabs all
  reconnecting at once after a restart. Beyond it `issue` refuses
  (`TooManyTickets`) and the page tries again after its usual pause, by which
  time the others are spent or expired.
- at most `MAX_UNUSED` unused tickets in all (a few MB), whoever holds them.
- the memory of tickets that were spent or expired, kept only to tell a client
  what was wrong with the one it brought, is a fixed-size window
  (`REMEMBERED`): the oldest are forgotten first, and a forgotten ticket is
  refused as unknown, which is still a refusal.

Expired tickets are swept at every issue and every redemption, oldest first
(tickets are kept in the order they were issued, which is the order they expire
in while the clock runs forward).

The tickets live in this process: with several instances behind one address,
the stream must be opened on the instance that issued its ticket (or the
tickets must move to the database).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

TICKET_PREFIX = "odst_"  # "onduty stream ticket": recognisable in text, as tokens are by odt_
TICKET_SECONDS = 30.0
PER_HOLDER = 10
MAX_UNUSED = 10_000
REMEMBERED = 10_000

H = TypeVar("H")

USED = "this ticket was used already: ask POST /api/v1/events/ticket for a new one"
EXPIRED = "this ticket expired (they last 30 s): ask POST /api/v1/events/ticket for a new one"
UNKNOWN = "unknown ticket: ask POST /api/v1/events/ticket for a new one"


class TicketRefused(Exception):
    """The ticket opens nothing; the message says why (used, expired, unknown)."""


class TooManyTickets(Exception):
    """No new ticket for now: too many are waiting to be used."""


@dataclass(frozen=True, slots=True)
class Issued:
    ticket: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class _Unused(Generic[H]):
    holder: H
    holder_key: object
    expires_at: float


def ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class Tickets(Generic[H]):
    """Tickets for holders of type H (the web layer's users); `key` names a holder for the
    per-holder limit (a user's id)."""

    def __init__(
        self,
        now: Callable[[], float],
        key: Callable[[H], object],
        *,
        lifetime: float = TICKET_SECONDS,
        per_holder: int = PER_HOLDER,
        max_unused: int = MAX_UNUSED,
        remembered: int = REMEMBERED,
    ) -> None:
        self._now, self._key = now, key
        self._lifetime, self._per_holder = lifetime, per_holder
        self._max_unused, self._remembered = max_unused, remembered
        self._unused: dict[str, _Unused[H]] = {}  # ticket hash -> ticket, in the order issued
        self._unused_by_holder: dict[object, int] = {}
        self._ended: dict[str, str] = {}  # ticket hash -> why it opens nothing now, oldest first

    def __len__(self) -> int:
        """Tickets issued and neither used nor swept as expired."""
        return len(self._unused)

    def issue(self, holder: H) -> Issued:
        """A new ticket for `holder`. Raises TooManyTickets beyond the limits."""
        now = self._now()
        self._sweep(now)
        key = self._key(holder)
        held = self._unused_by_holder.get(key, 0)
        if held >= self._per_holder:
            raise TooManyTickets(f"{held} tickets of yours are waiting to be used; use one or wait for them to expire")
        if len(self._unused) >= self._max_unused:
            raise TooManyTickets("the server holds too many unused tickets; try again in a few seconds")
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + self._lifetime
        self._unused[ticket_hash(ticket)] = _Unused(holder, key, expires_at)
        self._unused_by_holder[key] = held + 1
        return Issued(ticket, expires_at)

    def redeem(self, ticket: str) -> H:
        """Whom the ticket was issued to; it is spent. Raises TicketRefused when it was used
        already, has expired, or was never issued."""
        now = self._now()
        digest = ticket_hash(ticket)
        found = self._unused.pop(digest, None)
        if found is not None:
            self._release(found.holder_key)
            expired = found.expires_at <= now
            self._end(digest, EXPIRED if expired else USED)
            self._sweep(now)
            if expired:
                raise TicketRefused(EXPIRED)
            return found.holder
        self._sweep(now)
        raise TicketRefused(self._ended.get(digest, UNKNOWN))

    def _sweep(self, now: float) -> None:
        unused = self._unused
        while unused:
            digest, oldest = next(iter(unused.items()))
            if oldest.expires_at > now:
                return
            del unused[digest]
            self._release(oldest.holder_key)
            self._end(digest, EXPIRED)

    def _release(self, key: object) -> None:
        left = self._unused_by_holder[key] - 1
        if left:
            self._unused_by_holder[key] = left
        else:
            del self._unused_by_holder[key]

    def _end(self, digest: str, why: str) -> None:
        ended = self._ended
        ended[digest] = why
        if len(ended) > self._remembered:
            del ended[next(iter(ended))]
