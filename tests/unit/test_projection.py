"""From events to rows (storage/projection.py): a writer for every kind of event, and the
rows a change writes even when no event of theirs says so."""

from __future__ import annotations

from onduty.domain import events as ev
from onduty.domain.types import State
from onduty.storage.projection import WRITERS, Rows
from tests.unit.engine_helpers import World


def kinds(base: type[ev.Event]) -> set[type[ev.Event]]:
    found: set[type[ev.Event]] = set()
    for kind in base.__subclasses__():
        found |= {kind, *kinds(kind)}
    return found


def test_every_kind_of_event_has_a_writer() -> None:
    """A kind of event without one would fail the commit of every batch that has it."""
    assert set(WRITERS) == kinds(ev.Event)


def rows_of(w: World, events: list[ev.Event]) -> Rows:
    rows = Rows()
    rows.add(events, w.ws)
    return rows


def test_r6_a_deferred_reclaim_and_its_end_write_the_threads_rows() -> None:
    """The mark rides on the holder's status change, not on an event of the thread: the
    thread's row is written with it, so a restart knows the thread is to be reclaimed."""
    w = World()
    w.ready(1)
    thread = w.client_writes("c1", t=0)
    leaves = rows_of(w, w.set_status(1, State.NOT_READY, t=5))  # nobody else eligible: deferred
    assert leaves.threads[thread]["reclaim_pending"] is True
    back = rows_of(w, w.set_status(1, State.ACTIVE, t=6))
    assert back.threads[thread]["reclaim_pending"] is False


def test_a_status_change_of_an_agent_without_threads_writes_their_rows_alone() -> None:
    w = World()
    w.ready(1)
    rows = rows_of(w, w.set_status(1, State.NOT_READY, t=5))
    assert (rows.agent_ids, rows.threads, len(rows.status_log), len(rows.activity)) == ({1}, {}, 1, 1)
