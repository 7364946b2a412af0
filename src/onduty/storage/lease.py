"""Who owns the workspace: a lease row in PostgreSQL, fenced by its epoch.

Several instances share one PostgreSQL database; one of them at a time (the
owner) applies the workspace's commands. The `workspace_lease` row says who,
until when, and under which `epoch`: every commit of the owner checks that
epoch inside its own transaction (`fence_statement`, run by the committer), so an
owner that was superseded, however long it was paused, can never write again.

SQLite is the single-instance database: none of this runs on it
(`LeaseUnsupported`).

The rules (docs/scale-out.md, "Ownership and fencing"):

- Time is the database's: `expires_at` is set and judged by PostgreSQL's
  `clock_timestamp()`, the time the row is looked at. (`now()` is the start of
  the transaction: the same in these one-statement transactions but for a wait
  on the row's lock, when it is stale.) Instances' wall clocks never decide.
- Every successful `acquire` starts a new epoch (+1): a takeover by another
  instance, a re-acquire after a lapse, and an acquire by the same instance id
  while its lease still runs (a restarted process that kept its id): the old
  incarnation's epoch is then fenced too. Only `renew` keeps an epoch, and only
  while the lease has not lapsed: an owner that missed its renewals must stop,
  then acquire again (a new epoch, a fresh start from the database).
- `release` ends the lease at once, so that a successor need not wait for it to
  lapse.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from onduty.storage._own_connection import OwnConnection
from onduty.storage.database import Database

# One workspace per database today; the lease is per workspace, so that several can be
# spread over the instances later.
DEFAULT_WORKSPACE = "default"

WORKSPACE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,40}")

# How long one lease statement may take before the caller hears TimeoutError.
STATEMENT_TIMEOUT = 2.0

_CLOCK = "extract(epoch FROM clock_timestamp())::float8"

_ACQUIRE = f"""
INSERT INTO workspace_lease AS l (workspace, owner, epoch, expires_at)
VALUES ($1, $2, 1, {_CLOCK} + $3::float8)
ON CONFLICT (workspace) DO UPDATE
    SET owner = excluded.owner, epoch = l.epoch + 1, expires_at = {_CLOCK} + $3::float8
    WHERE l.expires_at <= {_CLOCK} OR l.owner = excluded.owner
RETURNING epoch, expires_at
"""

_RENEW = f"""
UPDATE workspace_lease SET expires_at = {_CLOCK} + $4::float8
WHERE workspace = $1 AND owner = $2 AND epoch = $3 AND expires_at > {_CLOCK}
RETURNING expires_at
"""

_RELEASE = f"""
UPDATE workspace_lease SET expires_at = {_CLOCK}
WHERE workspace = $1 AND owner = $2 AND epoch = $3 AND expires_at > {_CLOCK}
"""

_CURRENT = f"""
SELECT owner, epoch, expires_at, expires_at <= {_CLOCK} AS lapsed FROM workspace_lease WHERE workspace = $1
"""


class LeaseUnsupported(Exception):
    """Leases need PostgreSQL: on SQLite onduty runs as one instance, with no lease."""

    def __init__(self, db: Database) -> None:
        super().__init__(
            f"{db.shown()} is SQLite, which serves one instance: workspace leases and fencing need PostgreSQL"
        )


class Superseded(Exception):
    """A commit under an epoch that is no longer the workspace's: another instance took
    over. The transaction was rolled back; nothing of the batch was written."""

    def __init__(self, workspace: str, epoch: int) -> None:
        super().__init__(f"workspace {workspace!r}: epoch {epoch} was superseded; nothing was written")
        self.workspace = workspace
        self.epoch = epoch


@dataclass(frozen=True, slots=True)
class Fence:
    """What a commit checks: the lease's epoch in the workspace. `idle_limit`: how long
    (seconds) a commit under it may stand idle, waiting for its owner to send the rest,
    before the database ends it (None: no limit)."""

    workspace: str
    epoch: int
    idle_limit: float | None = None

    def __post_init__(self) -> None:
        check_workspace(self.workspace)
        if type(self.epoch) is not int:
            raise ValueError(f"an epoch is an integer, not {self.epoch!r}")
        if self.idle_limit is not None and not self.idle_limit > 0:
            raise ValueError(f"an idle limit is a positive number of seconds, not {self.idle_limit!r}")


def fence_statement(fence: Fence) -> str:
    """The fence, first in each of the owner's commit transactions (_committer.py). It locks
    the lease row until COMMIT: a takeover (which updates that row) waits for the commit
    under way, and a commit that comes after the takeover finds no row at its epoch (in
    READ COMMITTED an UPDATE re-reads a row updated meanwhile). So every commit under epoch
    N lands wholly before the takeover to N+1, or not at all; being first, a refused one
    has written nothing and drawn no journal id (no gap in them).

    Only the epoch is checked, not the expiry: a commit by an owner whose lease has just
    lapsed, with no successor yet, is ordered before any later takeover, and the successor
    reads the state after acquiring, so it sees that commit. Refusing it would gain no
    safety and turn a late renewal (a pause, a slow database) into a failed batch; the
    owner learns of the lapse from its renewal and stops then.

    The lock is held until COMMIT, however long the owner takes to send it: an owner frozen
    mid-commit (SIGSTOP, a stalled VM) would hold every takeover back for as long as it
    stays frozen. With `idle_limit` (the lease's length), the database ends a commit that
    stood idle that long (idle_in_transaction_session_timeout, for this transaction only):
    the lock goes, nothing of the commit is kept, and a successor takes over as from any
    frozen owner. A commit's statements follow one another at once, so only a stalled
    owner is ever that slow; the time the database itself takes does not count.

    Values written out (all checked: a name of `WORKSPACE_NAME`'s characters, an int, a
    number) so that it goes with BEGIN as one simple query: a parametrised statement of its
    own cost a round trip more, +90 µs of CPU per commit against +5 µs (docs/scale-out.md)."""
    workspace, epoch = fence.workspace, fence.epoch
    check = f"UPDATE workspace_lease SET epoch = epoch WHERE workspace = '{workspace}' AND epoch = {epoch:d}"
    if fence.idle_limit is None:
        return check
    milliseconds = max(1, math.ceil(fence.idle_limit * 1000))
    return f"SET LOCAL idle_in_transaction_session_timeout = {milliseconds:d}; {check}"


def check_workspace(name: str) -> None:
    if not WORKSPACE_NAME.fullmatch(name):
        raise ValueError(f"a workspace name is 1 to 40 letters, digits, '_', '.', ':' or '-', not {name!r}")


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease as one instance acquired or renewed it. `expires_at` is by the database's
    clock; `held_until` is a bound on this process's monotonic clock (`time.monotonic`),
    taken before the statement was sent, so never later than the database's expiry: what
    the holder goes by when it cannot reach the database."""

    workspace: str
    owner: str
    epoch: int
    seconds: float  # the lease's length, at each acquire and renewal
    expires_at: float
    held_until: float

    @property
    def fence(self) -> Fence:
        return Fence(self.workspace, self.epoch, self.seconds)


@dataclass(frozen=True, slots=True)
class LeaseState:
    """The lease row as the database holds it (for /healthz): `lapsed` by its clock."""

    owner: str
    epoch: int
    expires_at: float
    lapsed: bool


class Leases:
    """The lease of one workspace, for one instance, on a connection of its own (outside
    the SQLAlchemy pool, so that renewals never queue behind the API's reads)."""

    def __init__(self, db: Database, workspace: str = DEFAULT_WORKSPACE, *, timeout: float = STATEMENT_TIMEOUT):
        if db.is_sqlite:
            raise LeaseUnsupported(db)
        check_workspace(workspace)
        self.workspace = workspace
        self._conn = OwnConnection(db, timeout)

    async def acquire(self, instance_id: str, lease_seconds: float) -> Lease | None:
        """The lease for `instance_id`, under a new epoch, when it has lapsed, was released,
        never existed, or was `instance_id`'s already; None while another instance holds it."""
        _check_seconds(lease_seconds)
        if not 0 < len(instance_id) <= 80:  # workspace_lease.owner
            raise ValueError(f"an instance id is 1 to 80 characters, not {instance_id!r}")
        sent = time.monotonic()
        row = await self._conn.fetchrow(_ACQUIRE, self.workspace, instance_id, lease_seconds)
        if row is None:
            return None
        epoch, expires_at = row
        return Lease(self.workspace, instance_id, epoch, lease_seconds, expires_at, sent + lease_seconds)

    async def renew(self, lease: Lease) -> Lease | None:
        """The lease extended by its length from now, same epoch (a true value); None when
        it is no longer this one's (taken over, re-acquired, released) or has lapsed: the
        holder must then stop acting as owner."""
        sent = time.monotonic()
        row = await self._conn.fetchrow(_RENEW, lease.workspace, lease.owner, lease.epoch, lease.seconds)
        if row is None:
            return None
        return Lease(lease.workspace, lease.owner, lease.epoch, lease.seconds, row[0], sent + lease.seconds)

    async def release(self, lease: Lease) -> bool:
        """Ends the lease now, so that a successor takes over at once (a graceful stop).
        False when it was not this one's any more. The epoch stays: commits under it are
        still accepted until a successor acquires, and then never again."""
        status = await self._conn.execute(_RELEASE, lease.workspace, lease.owner, lease.epoch)
        return bool(status == "UPDATE 1")

    async def current(self) -> LeaseState | None:
        """Who holds (or last held) the lease; None when nobody ever acquired it."""
        row = await self._conn.fetchrow(_CURRENT, self.workspace)
        if row is None:
            return None
        owner, epoch, expires_at, lapsed = row
        return LeaseState(owner, epoch, expires_at, lapsed)

    async def close(self) -> None:
        await self._conn.close()


def _check_seconds(lease_seconds: float) -> None:
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be positive, not {lease_seconds!r}")
