"""The store: what the service keeps, as an interface.

The service needs little of its database: to commit a batch of commands in
one transaction, to read the engine's lasting state back at start (and after
a failed commit), and to read the journal from an id on. One implementation
serves SQLite and PostgreSQL (store.py, `SqlStore`); every implementation
passes the same tests (tests/integration/test_store_contract.py), whatever
else it offers (the API's and the reports' reads are `SqlStore`'s own).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any

from onduty.domain.restore import Snapshot
from onduty.journal import StoredEvent
from onduty.storage.activity import ActivityTracker
from onduty.storage.projection import Rows


@dataclasses.dataclass(frozen=True, slots=True)
class LogPosition:
    """Where the command log and the journal end, as one snapshot of the database saw them."""

    log_id: int
    event_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedRow:
    """One row of `command_log`: a committed batch as the owner applied it."""

    id: int
    at: float
    tick: bool
    commands: Any  # JSON: the list of commands (service/command_codec.py)
    last_event_id: int | None  # the journal's last id after it; None when it wrote no event


class Store(ABC):
    @abstractmethod
    async def commit(self, rows: Rows, agent_rows: list[dict[str, Any]]) -> list[StoredEvent]:
        """Everything one batch of commands did (`rows`, and the rows of the agents it touched),
        in one transaction: all of it is kept or none. Returns the journal as it was stored,
        in order, numbered after every event stored before (by any writer of the database)."""

    @abstractmethod
    async def load_snapshot(self, now: float) -> Snapshot:
        """The engine's lasting state, as the commits left it: what `restore` rebuilds the
        engine from. `now` bounds the client owners kept (the affinity window)."""

    @abstractmethod
    async def last_activity(self) -> ActivityTracker:
        """Each agent's last activity row: where their report timeline goes on from."""

    @abstractmethod
    async def events_after(self, after: int, limit: int) -> list[StoredEvent]:
        """Up to `limit` journal events with ids above `after`, by id."""

    @abstractmethod
    async def last_event_id(self) -> int:
        """The id of the last journal event stored; 0 when there is none."""

    @abstractmethod
    async def command_log_since(self, at: float) -> list[LoggedRow]:
        """The logged batches applied at `at` or later, by id (their idempotency keys are
        remembered for retries: service/idempotency.py)."""

    @abstractmethod
    async def prune_command_log(self, before: float) -> int:
        """Deletes the logged batches applied before `before`; returns how many."""

    @abstractmethod
    async def close(self) -> None: ...
