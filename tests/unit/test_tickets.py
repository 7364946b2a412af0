"""Stream tickets (service/tickets.py): single use, 30 s, kept as hashes, bounded."""

from __future__ import annotations

import pytest

from onduty.service.clock import ManualClock
from onduty.service.tickets import (
    EXPIRED,
    TICKET_PREFIX,
    TICKET_SECONDS,
    UNKNOWN,
    USED,
    TicketRefused,
    Tickets,
    TooManyTickets,
    ticket_hash,
)


def tickets(clock: ManualClock, **limits: int) -> Tickets[str]:
    return Tickets[str](clock.now, lambda holder: holder, **limits)


def refusal(store: Tickets[str], ticket: str) -> str:
    with pytest.raises(TicketRefused) as refused:
        store.redeem(ticket)
    return str(refused.value)


def test_a_ticket_opens_once_for_its_holder() -> None:
    clock = ManualClock()
    store = tickets(clock)
    issued = store.issue("ann")
    assert issued.ticket.startswith(TICKET_PREFIX)
    assert issued.expires_at == clock.now() + TICKET_SECONDS
    assert store.redeem(issued.ticket) == "ann"
    assert refusal(store, issued.ticket) == USED
    assert refusal(store, "odst_never-issued") == UNKNOWN


def test_a_ticket_expires_after_30_seconds_and_is_swept() -> None:
    clock = ManualClock()
    store = tickets(clock)
    kept, late, swept = (store.issue("ann").ticket for _ in range(3))
    clock.advance(TICKET_SECONDS - 0.001)
    assert store.redeem(kept) == "ann"
    clock.advance(0.001)
    assert refusal(store, late) == EXPIRED
    assert len(store) == 0  # `swept` went at that redemption's sweep
    assert refusal(store, swept) == EXPIRED


def test_only_hashes_are_kept() -> None:
    store = tickets(ManualClock())
    ticket = store.issue("ann").ticket
    held = repr(vars(store))
    assert ticket not in held
    assert ticket_hash(ticket) in held


def test_unused_tickets_are_bounded_per_holder_and_in_all() -> None:
    clock = ManualClock()
    store = tickets(clock, per_holder=2, max_unused=3)
    first = store.issue("ann").ticket
    store.issue("ann")
    with pytest.raises(TooManyTickets):
        store.issue("ann")
    store.issue("bob")
    with pytest.raises(TooManyTickets):
        store.issue("cat")  # three unused in all
    store.redeem(first)
    store.issue("cat")
    clock.advance(TICKET_SECONDS)
    for _ in range(2):
        store.issue("ann")  # the others expired
    assert len(store) == 2


def test_what_was_wrong_is_remembered_within_a_fixed_window() -> None:
    """Spent and expired tickets are remembered only to say what was wrong with them, and
    only the latest few: memory stays bounded however many go by."""
    clock = ManualClock()
    store = tickets(clock, remembered=2)
    spent = []
    for _ in range(1000):
        ticket = store.issue("ann").ticket
        store.redeem(ticket)
        spent.append(ticket)
    assert [refusal(store, ticket) for ticket in spent[-3:]] == [UNKNOWN, USED, USED]
    assert refusal(store, spent[0]) == UNKNOWN
