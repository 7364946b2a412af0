"""From events to rows (storage/projection.py): a writer for every kind of event, and the
rows a change writes even when no event of theirs says so."""

from __future__ import annotations

import json

from onduty.domain import commands as c
from onduty.domain import events as ev
from onduty.domain.model import Agent
from onduty.domain.types import State
from onduty.storage.projection import WRITERS, Rows, agent_row
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


def test_s8_the_agents_row_names_the_instances_they_are_connected_on_as_a_sorted_json_list() -> None:
    """Equal sets write equal rows; `connected` stays beside it for readers that know only it."""
    row = agent_row(Agent(1, "team", None, connected_on=frozenset({"b", "a", ""})))
    assert (row["connected"], json.loads(row["connected_on"])) == (True, ["", "a", "b"])
    row = agent_row(Agent(1, "team", None))
    assert (row["connected"], json.loads(row["connected_on"])) == (False, [])


def test_s8_instances_changed_without_an_event_write_the_agents_rows() -> None:
    """A second instance, or one of two closed or dropped, says nothing, but changes where the
    agent is connected: their row is written, as the service records each command's."""
    w = World()
    w.ready(1, 2, 3)
    for command in (c.Connect(1, "a"), c.Connect(2, "a"), c.Connect(2, "b"), c.Connect(3, "c")):
        w.do(command, 0)

    def written(command: c.Command) -> list[int]:
        rows = rows_of(w, w.do(command, 1))
        rows.add_command(command)
        return [row["id"] for row in rows.agent_rows(w.ws)]

    assert written(c.Connect(1, "b")) == [1]
    assert written(c.Disconnect(1, "a")) == [1]
    # Agent 1 loses its last instance (an event), 2 keeps a (none): both rows, and those of
    # the others still connected (3): who kept another instance is not known afterwards.
    assert written(c.DropInstance("b")) == [1, 2, 3]
    assert written(c.DropInstance("gone")) == [2, 3]
