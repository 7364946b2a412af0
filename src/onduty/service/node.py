"""This process's part in the workspace: the one object the web layer reaches live state by.

One instance (SQLite, or PostgreSQL without Redis): the node owns the workspace for as
long as it runs; everything goes to its `Service`.

Several instances (PostgreSQL and Redis, `Cluster`): the node is the **owner** while it
holds the workspace's lease (ownership.py) and a **follower** otherwise, and changes
role as the lease comes and goes:

- a follower keeps a warm copy (follower.py) that answers reads; commands it is given go
  to the owner (forwarding.py), and `wait_for_event` lets a caller see its own write;
- on gaining the lease it fences its commits with the new epoch, promotes its copy
  (catching up with every commit of the old owner, who can commit no more) and starts a
  `Service` on it: no rebuild, and the timers that fell due fire once, now;
- on losing it (a renewal refused, a commit `Superseded`, the database out of reach past
  the lease) the service stops at once and a new copy is read from the database.

Role changes run one at a time, in the order the ownership loop reported them. Every
instance keeps its row of `instances` alive (a heartbeat), says where it answers, and
hands the events it receives from Redis (or the journal) to its own streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import structlog

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.workspace import Workspace
from onduty.service._metrics import Metrics
from onduty.service._tasks import cancelled
from onduty.service.clock import Clock, RealClock
from onduty.service.fanout import FanOut, InProcessFanOut
from onduty.service.fanout_redis import RedisFanOut
from onduty.service.follower import Follower
from onduty.service.forwarding import Forwarder, OwnerHere
from onduty.service.idempotency import next_key
from onduty.service.ownership import LEASE_SECONDS, RENEW_EVERY, Ownership
from onduty.service.service import Outcome, Service, ServiceUnavailable, View
from onduty.storage.database import Database
from onduty.storage.instances import Instances
from onduty.storage.lease import Lease, Leases, Superseded
from onduty.storage.store import SqlStore

log = structlog.get_logger("onduty.node")

T = TypeVar("T")

Role = Literal["owner", "follower"]
OWNER: Role = "owner"
FOLLOWER: Role = "follower"
HEARTBEAT_EVERY = 1.0  # seconds
INSTANCE_SECONDS = 3.0  # an instance whose heartbeat is older is gone
OWN_WRITE_WAIT = 2.0  # seconds a follower waits for its copy to hold a forwarded write
RESTART_PAUSE = (0.2, 5.0)  # first and longest pause between attempts to read a new copy


@dataclass(frozen=True, slots=True)
class Cluster:
    """How this instance joins the others: the Redis they share, its id (unique per
    process), the base URL the others reach it at, and the lease's timing."""

    redis_url: str
    instance_id: str
    address: str
    lease_seconds: float = LEASE_SECONDS
    renew_every: float = RENEW_EVERY


@dataclass(frozen=True, slots=True)
class Health:
    role: Role
    epoch: int | None  # the lease's, while owner; the owner's last known, while follower
    applied_event_id: int  # the journal's last id this instance's state holds


class Node:
    def __init__(
        self,
        db: Database,
        store: SqlStore,
        *,
        clock: Clock | None = None,
        fanout: FanOut | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.clock = clock or RealClock()
        self.metrics = Metrics()
        self.cluster = cluster
        self.instance_id = cluster.instance_id if cluster is not None else ""
        self._service: Service | None = None
        self._follower: Follower | None = None
        self._ownership: Ownership | None = None
        self._instances: Instances | None = None
        self._forwarder: Forwarder | None = None
        self._owner_address: str | None = None
        self._owner_epoch: int | None = None
        self._roles: asyncio.Queue[Lease | None] = asyncio.Queue()  # a lease gained, or None: lost
        self._tasks: list[asyncio.Task[None]] = []
        self.secret: str | None = None
        # Joined to others, the fan-out is Redis's, on the database's own channel (`start`).
        self.fanout: FanOut = fanout or InProcessFanOut()
        if cluster is None:
            self._service = self._new_service()

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        if self.cluster is None:
            assert self._service is not None
            await self._service.start()
            return
        cluster = self.cluster
        self._instances = Instances(self.db, cluster.instance_id, cluster.address)
        self.secret = await self._instances.secret()
        await self._instances.heartbeat(INSTANCE_SECONDS)
        self._forwarder = Forwarder(self._find_owner, self.secret, owns=lambda: self._service is not None)
        fanout = RedisFanOut(
            self.store, cluster.redis_url, workspace=channel_name(self.secret), name=f"onduty-{cluster.instance_id}"
        )
        self.fanout = fanout
        await fanout.start(after=await self.store.last_event_id())
        await self._follow()
        self._ownership = Ownership(
            Leases(self.db),
            cluster.instance_id,
            lease_seconds=cluster.lease_seconds,
            renew_every=cluster.renew_every,
            on_gained=self._roles.put_nowait,
            on_lost=lambda lease, why: self._roles.put_nowait(None),
        )
        self._ownership.start()
        self._tasks = [
            asyncio.create_task(self._change_roles(), name="onduty-roles"),
            asyncio.create_task(self._beat(), name="onduty-heartbeat"),
        ]
        log.info("instance started", instance=cluster.instance_id, address=cluster.address)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        try:
            await cancelled(*tasks)
        finally:  # cancelled meanwhile too: the lease is released, the connections closed
            await self._let_go()

    async def _let_go(self) -> None:
        if self._ownership is not None:
            # The service first: nothing is committed once the lease is released.
            await self._stop_serving()
            await self._ownership.stop()
            await self._ownership.leases.close()
        elif self._service is not None:
            await self._service.stop()
        if self._follower is not None:
            await self._follower.stop()
        if self._instances is not None:
            with contextlib.suppress(Exception):
                await self._instances.leave()
            await self._instances.close()
        if self._forwarder is not None:
            await self._forwarder.close()
        if isinstance(self.fanout, RedisFanOut):
            await self.fanout.close()

    # -- what the web layer calls ----------------------------------------------------

    @property
    def service(self) -> Service | None:
        """The service applying commands here: this instance's while it owns the workspace."""
        return self._service

    @property
    def forwards(self) -> bool:
        """Whether the API's writes received here go to another instance (the owner)."""
        return self.cluster is not None and self._service is None

    async def execute(
        self, command: c.Command, *, check: View | None = None, answer: View | None = None, key: str | None = None
    ) -> Outcome:
        """As `Service.execute`, on the owner. On a follower, a command with neither check nor
        answer (this instance's own: streams, new agents) goes to the owner; the API's
        writes were sent to the owner whole before their route ran (web/_forwarding.py), so a
        route that gets here was received while this instance owned the workspace."""
        service = self._service
        if service is not None:
            return await service.execute(command, check=check, answer=answer, key=key)
        if check is not None or answer is not None or self._forwarder is None:
            raise ServiceUnavailable("this instance no longer owns the workspace; nothing was changed; try again")
        key = key or next_key(type(command).__name__) or _own_key()
        try:
            event_id = await self._forwarder.command(command, key)
        except OwnerHere:  # taken over meanwhile: this instance applies it, under the same key
            return await self.execute(command, key=key)
        self.metrics.forwarded.labels("command").inc()
        await self.wait_for_event(event_id)
        return Outcome([], [])

    async def read(self, view: Callable[[Workspace], T]) -> T:
        """`view(workspace)` on committed state: the owner's engine, or this follower's copy."""
        service = self._service
        if service is not None:
            return await service.read(view)
        follower = self._follower
        if follower is None:
            raise ServiceUnavailable("this instance is reading the workspace from the database; try again")
        return await follower.read(view)

    async def ensure_agent(self, agent_id: int, *, username: str, name: str, team: str | None) -> None:
        """Agents created by another process (`onduty users add` beside a running server)
        join the engine the first time they are seen."""
        if not await self.read(lambda ws: agent_id in ws.agents):
            with contextlib.suppress(DomainError):
                await self.execute(c.RegisterAgent(agent_id, team or "default", None, name=name, username=username))

    async def wait_for_event(self, event_id: int, timeout: float = OWN_WRITE_WAIT) -> bool:
        """Until this instance's state holds the journal's event `event_id` (a client reading
        its own write); False when `timeout` passed first."""
        follower = self._follower
        if follower is None:
            return True  # the owner answers after its commit
        return await follower.wait_for_event(event_id, timeout)

    @property
    def last_event_id(self) -> int:
        """The last event handed to this instance's streams (a stream opened without
        `after` starts from it)."""
        if isinstance(self.fanout, RedisFanOut):
            return self.fanout.last_delivered
        assert self._service is not None
        return self._service.last_event_id

    @property
    def committed_event_id(self) -> int:
        """The journal's last id that this instance's state holds (an answer's `Onduty-Event-Id`)."""
        if self._service is not None:
            return self._service.last_event_id
        return self._follower.applied_event_id if self._follower is not None else 0

    def now(self) -> float:
        return self.clock.now()

    def health(self) -> Health | None:
        """Role, epoch and the last applied event, under several instances (None: one)."""
        if self.cluster is None:
            return None
        service, follower = self._service, self._follower
        lease = self._ownership.lease if self._ownership is not None else None
        if service is not None:
            return Health(OWNER, lease.epoch if lease is not None else None, service.last_event_id)
        applied = follower.applied_event_id if follower is not None else 0
        return Health(FOLLOWER, self._owner_epoch, applied)

    @property
    def forwarder(self) -> Forwarder:
        if self._forwarder is None:
            raise ServiceUnavailable("this instance forwards nothing: it runs alone")
        return self._forwarder

    # -- role changes ------------------------------------------------------------------

    def _new_service(self) -> Service:
        on_superseded = self._ownership.superseded if self._ownership is not None else None
        return Service(
            self.store, fanout=self.fanout, clock=self.clock, metrics=self.metrics, on_superseded=on_superseded
        )

    async def _change_roles(self) -> None:
        while True:
            lease = await self._roles.get()
            try:
                if lease is not None:
                    await self._become_owner(lease)
                else:
                    await self._become_follower()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("role change failed")

    async def _become_owner(self, lease: Lease) -> None:
        ownership = self._ownership
        assert ownership is not None
        if ownership.lease is None or ownership.lease.epoch != lease.epoch:
            return  # lost again before its turn came
        started = time.perf_counter()
        self.store.fence(lease.fence)
        follower = self._follower
        service = self._new_service()
        try:
            if follower is None:  # no copy yet (the database was away): the service reads its own
                engine, keys = None, None
            else:
                engine, keys = await follower.promote()
            # Until the service has committed its first batch, reads answer 503 (the copy
            # is becoming the owner's engine) and writes wait in the forwarder's retries.
            self._follower = None
            await service.start(engine=engine, keys=keys, reset_connections=False)
            self._service = service
        except Exception as error:
            log.exception("taking over failed; giving the lease up")
            await service.stop()
            ownership.superseded(Superseded(lease.workspace, lease.epoch))
            if not isinstance(error, Superseded):
                await self._follow()
            return
        self.metrics.ownership_changes.labels("gained").inc()
        log.info("owner now", epoch=lease.epoch, seconds=round(time.perf_counter() - started, 3))

    async def _become_follower(self) -> None:
        if self._service is None and self._follower is not None:
            return
        await self._stop_serving()
        self.metrics.ownership_changes.labels("lost").inc()
        await self._follow()

    async def _stop_serving(self) -> None:
        service, self._service = self._service, None
        if service is not None:
            await service.stop()

    async def _follow(self) -> None:
        """A new copy from the database, tailing the log; tried until the database answers."""
        pause, longest = RESTART_PAUSE
        while True:
            follower = Follower(self.store, metrics=self.metrics, clock=self.clock)
            try:
                await follower.start()
            except Exception as error:
                log.warning("cannot read the workspace from the database yet", error=repr(error))
                await asyncio.sleep(pause)
                pause = min(longest, pause * 2)
                continue
            follower.follow()
            self._follower = follower
            return

    # -- the other instances -------------------------------------------------------------

    async def _beat(self) -> None:
        instances = self._instances
        assert instances is not None
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            try:
                await instances.heartbeat(INSTANCE_SECONDS)
                service = self._service
                if service is None:
                    await self._find_owner(True)
                else:
                    await self._drop_gone_instances(service, instances)
            except Exception as error:
                log.warning("heartbeat not written", error=repr(error))

    async def _drop_gone_instances(self, service: Service, instances: Instances) -> None:
        """S8, by the owner: the connections of an instance whose heartbeat lapsed (it died,
        or was cut off) are gone; its agents' pages reconnect elsewhere within the grace. An
        instance that lives on puts its own back (connections.py `reconcile`)."""
        alive = await instances.alive()
        known = await service.read(lambda ws: ws.connected_instances())
        for gone in sorted(known - alive):
            log.info("an instance is gone; its connections with it", instance=gone)
            await service.execute(c.DropInstance(gone))

    async def _find_owner(self, refresh: bool) -> str | None:
        """The owner's base URL; None while there is none. It may be this instance's own,
        while it is taking over: what it forwards to itself is answered 503 until it serves,
        and sent again."""
        if refresh or self._owner_address is None:
            assert self._instances is not None
            try:
                owner = await self._instances.owner()
            except Exception:
                return None
            usable = owner is not None and not owner.lapsed
            self._owner_address = owner.address if usable and owner is not None else None
            self._owner_epoch = owner.epoch if owner is not None else None
        return self._owner_address


def channel_name(secret: str) -> str:
    """The workspace's name on Redis: the same for every instance of one database, and
    another for another database sharing the Redis (staging beside production, tests), whose
    events must never mix. Derived from the secret, which it does not reveal."""
    return "ws-" + hashlib.sha256(secret.encode()).hexdigest()[:20]


def _own_key() -> str:
    """A key for a command of this instance's own (no request's): unique, so a retry of the
    same sending is recognised and nothing else is."""
    return f"i-{uuid.uuid4().hex}"
