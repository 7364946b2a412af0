"""Stream tickets in the database (storage/tickets.py): single use, 30 s, kept as hashes,
bounded; one instance redeems what another issued, and of two redeeming one ticket at
once exactly one wins. On SQLite and PostgreSQL; the races on PostgreSQL, where several
instances share the database.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from onduty.storage import schema as t
from onduty.storage.database import Database
from onduty.storage.store import SqlStore
from onduty.storage.tickets import (
    EXPIRED,
    REMEMBERED,
    TICKET_PREFIX,
    TICKET_SECONDS,
    UNKNOWN,
    USED,
    StreamTickets,
    TicketRefused,
    TooManyTickets,
    ticket_hash,
)
from onduty.storage.users import UserStore

NOW = 1_800_000_000.0
ANN, BOB, CAT = 1, 2, 3
SESSION = "a" * 64  # a token's hash: the session a ticket belongs to


async def refusal(tickets: StreamTickets, ticket: str, now: float) -> str:
    with pytest.raises(TicketRefused) as refused:
        await tickets.redeem(ticket, now)
    return str(refused.value)


async def rows(store: SqlStore) -> int:
    return int((await store.fetch_one(select(func.count()).select_from(t.stream_tickets)))[0])


async def test_a_ticket_opens_once_for_its_session(store: SqlStore) -> None:
    tickets = StreamTickets(store)
    issued = await tickets.issue(ANN, SESSION, NOW)
    assert issued.ticket.startswith(TICKET_PREFIX)
    assert issued.expires_at == NOW + TICKET_SECONDS
    assert await tickets.redeem(issued.ticket, NOW + 1) == SESSION
    assert await refusal(tickets, issued.ticket, NOW + 2) == USED
    assert await refusal(tickets, "odst_never-issued", NOW + 2) == UNKNOWN
    assert await refusal(tickets, "", NOW + 2) == UNKNOWN


async def test_a_ticket_expires_after_30_seconds(store: SqlStore) -> None:
    tickets = StreamTickets(store)
    kept, late = [(await tickets.issue(ANN, SESSION, NOW)).ticket for _ in range(2)]
    assert await tickets.redeem(kept, NOW + TICKET_SECONDS - 0.001) == SESSION
    assert await refusal(tickets, late, NOW + TICKET_SECONDS) == EXPIRED
    assert await refusal(tickets, kept, NOW + TICKET_SECONDS) == USED  # used, whatever its age


async def test_only_hashes_are_kept(store: SqlStore) -> None:
    ticket = (await StreamTickets(store).issue(ANN, SESSION, NOW)).ticket
    held = repr([tuple(row) for row in await store.fetch(select(t.stream_tickets))])
    assert ticket not in held
    assert ticket.removeprefix(TICKET_PREFIX) not in held
    assert ticket_hash(ticket) in held


async def test_unused_tickets_are_bounded_per_person_and_in_all(store: SqlStore) -> None:
    tickets = StreamTickets(store, per_holder=2, max_unused=3)
    first = (await tickets.issue(ANN, SESSION, NOW)).ticket
    await tickets.issue(ANN, SESSION, NOW)
    with pytest.raises(TooManyTickets, match="2 tickets of yours"):
        await tickets.issue(ANN, SESSION, NOW)
    await tickets.issue(BOB, SESSION, NOW)
    with pytest.raises(TooManyTickets, match="too many unused tickets"):
        await tickets.issue(CAT, SESSION, NOW)  # three unused in all
    await tickets.redeem(first, NOW)
    await tickets.issue(CAT, SESSION, NOW)
    later = NOW + TICKET_SECONDS
    for _ in range(2):
        await tickets.issue(ANN, SESSION, later)  # the others expired


async def test_what_was_wrong_is_told_for_a_while_then_the_ticket_is_swept(store: SqlStore) -> None:
    """A spent or expired ticket is kept past its expiry only to say what was wrong with it;
    then an issue sweeps it, and it is refused as unknown."""
    tickets = StreamTickets(store)
    used, unused = [(await tickets.issue(ANN, SESSION, NOW)).ticket for _ in range(2)]
    await tickets.redeem(used, NOW)
    kept_until = NOW + TICKET_SECONDS + REMEMBERED
    await tickets.issue(BOB, SESSION, kept_until - 0.001)
    assert await refusal(tickets, used, kept_until - 0.001) == USED
    assert await refusal(tickets, unused, kept_until - 0.001) == EXPIRED
    await tickets.issue(BOB, SESSION, kept_until)
    assert await refusal(tickets, used, kept_until) == UNKNOWN
    assert await refusal(tickets, unused, kept_until) == UNKNOWN
    assert await rows(store) == 2  # Bob's two


async def test_each_issue_sweeps_a_bounded_number_of_old_tickets(store: SqlStore) -> None:
    """An issue never pays for a whole backlog; since every row comes from an issue, the
    sweeps keep up all the same."""
    tickets = StreamTickets(store, per_holder=100, sweep_batch=5)
    for _ in range(12):
        await tickets.issue(ANN, SESSION, NOW)
    gone = NOW + TICKET_SECONDS + REMEMBERED
    await tickets.issue(BOB, SESSION, gone)
    assert await rows(store) == 12 - 5 + 1
    await tickets.issue(BOB, SESSION, gone)
    assert await rows(store) == 12 - 10 + 2
    await tickets.issue(BOB, SESSION, gone)
    assert await rows(store) == 3  # Bob's


async def test_one_instance_redeems_what_another_issued(database: Database) -> None:
    """Two instances behind one address are two stores on one database: the stream may be
    opened on the one that did not issue its ticket, and once only, on either."""
    one, other = SqlStore(database), SqlStore(database)
    try:
        ticket = (await StreamTickets(one).issue(ANN, SESSION, NOW)).ticket
        assert await StreamTickets(other).redeem(ticket, NOW) == SESSION
        for store in (one, other):
            assert await refusal(StreamTickets(store), ticket, NOW) == USED
    finally:
        await one.close()
        await other.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_of_two_instances_redeeming_one_ticket_at_once_exactly_one_wins(database: Database) -> None:
    one, other = SqlStore(database), SqlStore(database)
    try:
        issuer = StreamTickets(one, per_holder=1000)
        issued = [(await issuer.issue(ANN, SESSION, NOW)).ticket for _ in range(200)]
        both = (StreamTickets(one), StreamTickets(other))

        async def redeem(tickets: StreamTickets, ticket: str) -> str:
            try:
                return await tickets.redeem(ticket, NOW)
            except TicketRefused as refused:
                return str(refused)

        for ticket in issued:
            outcomes = await asyncio.gather(*(redeem(tickets, ticket) for tickets in both))
            assert sorted(outcomes) == sorted([SESSION, USED]), outcomes
    finally:
        await one.close()
        await other.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_person_asking_two_instances_at_once_gets_no_more_than_their_limit(database: Database) -> None:
    """The limit per person is counted under a lock on their row: asked of two instances at
    once, it is still the limit."""
    one, other = SqlStore(database), SqlStore(database)
    try:
        ann = await UserStore(one).create(
            username="ann", name="Ann", role="agent", team=None, password_hash=None, now=0
        )
        both = (StreamTickets(one, per_holder=3), StreamTickets(other, per_holder=3))

        async def issue(tickets: StreamTickets, now: float) -> bool:
            try:
                await tickets.issue(ann.id, SESSION, now)
            except TooManyTickets:
                return False
            return True

        for round_ in range(30):
            now = NOW + round_ * TICKET_SECONDS  # the last round's have expired
            outcomes = await asyncio.gather(*(issue(tickets, now) for tickets in both for _ in range(4)))
            assert outcomes.count(True) == 3, (round_, outcomes)
    finally:
        await one.close()
        await other.close()
