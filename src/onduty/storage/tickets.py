"""Single-use tickets that open the event stream, kept in the database so that any instance
redeems what any other issued.

A page asks for a ticket (with its token, in a header) just before it opens the
stream, and puts the ticket in the stream's URL instead of the token: whatever
writes URLs down (an access log, a proxy's log, the browser's history) then holds
a key that worked once, for a few seconds, and opens nothing more. Behind one
address the two requests may reach different instances: the table
`stream_tickets` is where both look.

Only each ticket's SHA-256 is kept, as for tokens: a ticket carries 256 random
bits, so a fast hash is enough, and a copy of the table yields no ticket that
works. Beside it, the hash of the token that asked for it: the stream the ticket
opens belongs to that token's session (signing out ends it).

Time is the caller's `now`, the service's clock, so that tests can move it: the
issuing instance's clock sets the expiry and the redeeming one's judges it, a
skew of milliseconds against a lifetime of 30 s.

Redemption is one conditional UPDATE (unused, unexpired) with RETURNING: of two
instances redeeming one ticket at once, exactly one gets the row. PostgreSQL
re-checks the condition on a row another transaction updated meanwhile; SQLite
has one writer at a time.

The table stays small whatever clients do:

- at most `PER_HOLDER` unused tickets per person. A page spends its ticket
  within a moment of getting it; ten cover a person's tabs all reconnecting at
  once after a restart. Beyond it `issue` refuses (`TooManyTickets`) and the
  page tries again after its usual pause, by which time the others are spent or
  expired. The count is taken under a lock on the person's `users` row, so that
  two instances issuing to one person at once count one after the other.
- at most `MAX_UNUSED` unused tickets in all, whoever holds them (counted
  without a lock: issues at the same moment may pass it by a few).
- a ticket spent or expired is kept `REMEMBERED` seconds past its expiry, only
  to tell a client what was wrong with the one it brought; then it is swept,
  and refused as unknown, which is still a refusal. Each issue sweeps at most
  `SWEEP_BATCH` of them, oldest first, skipping rows another sweep holds: an
  issue never pays for a backlog at once, and since every row comes from an
  issue, the sweeps keep up.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Delete, delete, func, select, update

from onduty.storage import schema as t
from onduty.storage.store import SqlStore

TICKET_PREFIX = "odst_"  # "onduty stream ticket": recognisable in text, as tokens are by odt_
TICKET_SECONDS = 30.0
PER_HOLDER = 10
MAX_UNUSED = 10_000
REMEMBERED = 600.0
SWEEP_BATCH = 100

USED = "this ticket was used already: ask POST /api/v1/events/ticket for a new one"
EXPIRED = "this ticket expired (they last 30 s): ask POST /api/v1/events/ticket for a new one"
UNKNOWN = "unknown ticket: ask POST /api/v1/events/ticket for a new one"

_tickets = t.stream_tickets


class TicketRefused(Exception):
    """The ticket opens nothing; the message says why (used, expired, unknown)."""


class TooManyTickets(Exception):
    """No new ticket for now: too many are waiting to be used."""


@dataclass(frozen=True, slots=True)
class Issued:
    ticket: str
    expires_at: float


def ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


class StreamTickets:
    """The tickets of one database, for whichever instance asks: issue, redeem, and at each
    issue a bounded sweep. Times are the caller's clock (`now`)."""

    def __init__(
        self,
        store: SqlStore,
        *,
        lifetime: float = TICKET_SECONDS,
        per_holder: int = PER_HOLDER,
        max_unused: int = MAX_UNUSED,
        remembered: float = REMEMBERED,
        sweep_batch: int = SWEEP_BATCH,
    ) -> None:
        self.store = store
        self._lifetime, self._per_holder, self._max_unused = lifetime, per_holder, max_unused
        self._remembered, self._sweep_batch = remembered, sweep_batch

    async def issue(self, user_id: int, token_hash: str, now: float) -> Issued:
        """A new ticket for the user, for the session of the token whose hash is given.
        Raises TooManyTickets beyond the limits."""
        unused = (_tickets.c.used_at.is_(None)) & (_tickets.c.expires_at > now)
        async with self.store.writer.begin() as conn:
            # The person's row, locked until commit: their issues count one after the other.
            # FOR NO KEY UPDATE: a sign-in (a token's foreign key) does not wait for it.
            # SQLite has no such clause and needs none: its writers take turns (BEGIN IMMEDIATE).
            await conn.execute(select(t.users.c.id).where(t.users.c.id == user_id).with_for_update(key_share=True))
            await conn.execute(self._sweep(now))
            counted = await conn.execute(
                select(func.count().filter(_tickets.c.user_id == user_id), func.count()).where(unused)
            )
            held, in_all = counted.one()
            if held >= self._per_holder:
                raise TooManyTickets(
                    f"{held} tickets of yours are waiting to be used; use one or wait for them to expire"
                )
            if in_all >= self._max_unused:
                raise TooManyTickets("the server holds too many unused tickets; try again in a few seconds")
            ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
            expires_at = now + self._lifetime
            await conn.execute(
                _tickets.insert().values(
                    hash=ticket_hash(ticket), user_id=user_id, token_hash=token_hash, expires_at=expires_at
                )
            )
        return Issued(ticket, expires_at)

    async def redeem(self, ticket: str, now: float) -> str:
        """The hash of the token that asked for the ticket (the session its stream belongs
        to); the ticket is spent. Raises TicketRefused when it was used already, has
        expired, or is unknown (never issued, or swept)."""
        digest = ticket_hash(ticket)
        async with self.store.writer.begin() as conn:
            spent = await conn.execute(
                update(_tickets)
                .where(_tickets.c.hash == digest, _tickets.c.used_at.is_(None), _tickets.c.expires_at > now)
                .values(used_at=now)
                .returning(_tickets.c.token_hash)
            )
            session = spent.scalar_one_or_none()
            if session is not None:
                return str(session)
            why = (await conn.execute(select(_tickets.c.used_at).where(_tickets.c.hash == digest))).first()
        if why is None:
            raise TicketRefused(UNKNOWN)
        raise TicketRefused(USED if why.used_at is not None else EXPIRED)

    def _sweep(self, now: float) -> Delete:
        oldest = (
            select(_tickets.c.hash)
            .where(_tickets.c.expires_at <= now - self._remembered)
            .order_by(_tickets.c.expires_at)
            .limit(self._sweep_batch)
            .with_for_update(skip_locked=True)
        )
        return delete(_tickets).where(_tickets.c.hash.in_(oldest))
