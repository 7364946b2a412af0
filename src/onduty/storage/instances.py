"""The instances that share a PostgreSQL database: who is alive, where each answers, and the
secret they call each other with.

Every instance keeps a row of `instances` alive with a heartbeat (`expires_at` set and
judged by the database's clock, as the lease is: lease.py). The owner reads which
instances are alive to drop the connections (S8) of those that are gone; a follower reads
where the owner answers, to forward the commands it receives. The instances call each
other with a secret kept in the database (`meta`), made by the first instance that asks:
whoever can read it can write the database anyway.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from onduty.storage._own_connection import OwnConnection
from onduty.storage.database import Database
from onduty.storage.lease import DEFAULT_WORKSPACE, STATEMENT_TIMEOUT, LeaseUnsupported

_CLOCK = "extract(epoch FROM clock_timestamp())::float8"
SECRET_KEY = "instances_secret"

_HEARTBEAT = f"""
INSERT INTO instances AS i (id, address, expires_at) VALUES ($1, $2, {_CLOCK} + $3::float8)
ON CONFLICT (id) DO UPDATE SET address = excluded.address, expires_at = excluded.expires_at
"""
_ALIVE = f"SELECT id FROM instances WHERE expires_at > {_CLOCK}"
_LEAVE = "DELETE FROM instances WHERE id = $1"
# Rows long dead go, so that the table holds the instances of the last hour or so.
_FORGET_OLD = f"DELETE FROM instances WHERE expires_at < {_CLOCK} - 3600"
_OWNER = f"""
SELECT l.owner, l.epoch, l.expires_at <= {_CLOCK} AS lapsed, i.address
FROM workspace_lease l LEFT JOIN instances i ON i.id = l.owner
WHERE l.workspace = $1
"""
_MAKE_SECRET = "INSERT INTO meta (key, value) VALUES ($1, $2::json) ON CONFLICT (key) DO NOTHING"
_SECRET = "SELECT value::text FROM meta WHERE key = $1"


@dataclass(frozen=True, slots=True)
class OwnerState:
    """The lease's holder as the database holds it, and where it answers (None: its row is
    gone, it left or never said)."""

    instance: str
    epoch: int
    lapsed: bool
    address: str | None


class Instances:
    def __init__(self, db: Database, instance_id: str, address: str, *, workspace: str = DEFAULT_WORKSPACE) -> None:
        if db.is_sqlite:
            raise LeaseUnsupported(db)
        if not 0 < len(instance_id) <= 80:
            raise ValueError(f"an instance id is 1 to 80 characters, not {instance_id!r}")
        if not 0 < len(address) <= 300:
            raise ValueError(f"an instance's address is 1 to 300 characters, not {address!r}")
        self.instance_id = instance_id
        self.address = address
        self.workspace = workspace
        self._conn = OwnConnection(db, STATEMENT_TIMEOUT)

    async def heartbeat(self, seconds: float) -> None:
        """This instance is alive for `seconds` more, by the database's clock."""
        await self._conn.execute(_HEARTBEAT, self.instance_id, self.address, seconds)

    async def alive(self) -> set[str]:
        return {row[0] for row in await self._conn.fetch(_ALIVE)}

    async def owner(self) -> OwnerState | None:
        row = await self._conn.fetchrow(_OWNER, self.workspace)
        return None if row is None else OwnerState(row[0], row[1], row[2], row[3])

    async def leave(self) -> None:
        """A graceful stop: this instance is gone now, not when its heartbeat lapses."""
        await self._conn.execute(_LEAVE, self.instance_id)
        await self._conn.execute(_FORGET_OLD)

    async def secret(self) -> str:
        """The secret the instances call each other with (made by the first to ask)."""
        await self._conn.execute(_MAKE_SECRET, SECRET_KEY, json.dumps(secrets.token_urlsafe(32)))
        row = await self._conn.fetchrow(_SECRET, SECRET_KEY)
        value = json.loads(row[0])
        if not isinstance(value, str):
            raise ValueError(f"meta {SECRET_KEY!r} is not text")
        return value

    async def close(self) -> None:
        await self._conn.close()
