"""A follower: a warm copy of the owner's engine, kept by applying the command log.

It starts as the service does, by `restore` from the database, but reads the state
and the command log's position in one snapshot of the database, so that it then
applies exactly the batches committed after that state (`catch_up`), in order,
through the writer's own code (batch_run.py). The engine is deterministic, so the
copy equals the owner's after each batch. Reads go through `read(view)`, as on the
service; the copy only ever holds committed batches, so they run at once.

It ticks the engine only where the log says the owner did, at the owner's `at`: timers
fire once, by the owner. Tailing is by polling the log's ids (`run`); a nudge (NOTIFY,
Redis) can shorten the wait later without changing what is applied. `promote` hands the
engine over to a service that becomes owner, without rebuilding it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import structlog

from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError
from onduty.domain.restore import restore
from onduty.domain.workspace import Workspace
from onduty.service._metrics import Metrics
from onduty.service._tasks import cancelled
from onduty.service.batch_run import BatchRun
from onduty.service.clock import Clock, RealClock
from onduty.service.command_codec import CommandDecodeError, decode_keyed_batch
from onduty.service.idempotency import RecentKeys, recent_keys
from onduty.storage.base import LoggedRow
from onduty.storage.store import SqlStore

log = structlog.get_logger("onduty.follower")

T = TypeVar("T")

POLL_SECONDS = 0.02
BATCHES_PER_READ = 500
# A copy whose last batch is older than this may be behind batches the owner pruned from the
# log (service.py LOG_KEEP, an hour): it then looks, at most this often, whether it is.
PRUNE_WORRY = 1800.0
PRUNE_LOOK_EVERY = 10.0


class FollowerDiverged(Exception):
    """A logged batch could not be applied as the owner applied it: this copy is not the
    owner's state any more, and must be rebuilt (`start` again)."""


class Follower:
    def __init__(
        self,
        store: SqlStore,
        *,
        poll_seconds: float = POLL_SECONDS,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.clock = clock or RealClock()
        self.poll_seconds = poll_seconds
        self.engine = Engine()
        self.applied_log_id = 0  # the last command_log row applied
        self.applied_event_id = 0  # the journal's last id as of that row
        self.applied_at = 0.0  # that row's `at`: the owner's time of the batch
        self._pruning_seen = float("-inf")  # when `pruned_through` was last looked at (monotonic)
        self.keys = RecentKeys()  # the idempotency keys of the batches applied lately
        self._task: asyncio.Task[None] | None = None
        self._applied = asyncio.Condition()

    @property
    def workspace(self) -> Workspace:
        return self.engine.workspace

    async def start(self) -> None:
        """Build the engine from the database and remember which batch it stands after."""
        snapshot, position = await self.store.load_snapshot_at_log()
        self.engine = restore(snapshot)
        # Keys logged up to that position (a later batch's keys come with it, applied below).
        self.keys = await recent_keys(self.store, self.clock.now(), through=position.log_id)
        self.applied_log_id, self.applied_event_id = position.log_id, position.event_id
        self.applied_at = self.clock.now()  # the copy is as of now
        log.info("follower started", log_id=self.applied_log_id, event_id=self.applied_event_id)

    async def catch_up(self) -> int:
        """Apply every batch committed so far; returns how many. Raises FollowerDiverged when
        the owner pruned batches this copy never applied."""
        await self._check_not_pruned()
        applied = 0
        while True:
            rows = await self.store.command_log_after(self.applied_log_id, BATCHES_PER_READ)
            for row in rows:
                self._apply(row)
            applied += len(rows)
            if rows:
                async with self._applied:
                    self._applied.notify_all()
            if len(rows) < BATCHES_PER_READ:
                return applied

    def _apply(self, row: LoggedRow) -> None:
        if row.id <= self.applied_log_id:
            return  # read twice: applied already
        try:
            run = BatchRun(self.engine, row.at, tick=row.tick)
            for command, key in decode_keyed_batch(row.commands):
                run.handle(command, key)
                if key is not None:
                    self.keys.add(key, row.at)
        except (DomainError, CommandDecodeError) as error:
            raise FollowerDiverged(f"batch {row.id}: the owner applied what this copy refuses: {error}") from error
        if run.at != row.at:
            raise FollowerDiverged(f"batch {row.id}: this copy's time ({run.at}) is past the owner's ({row.at})")
        self.applied_log_id = row.id
        self.applied_at = row.at
        if self.metrics is not None:
            self.metrics.replication_lag.observe(max(0.0, self.clock.now() - row.at))
        if row.last_event_id is not None:
            self.applied_event_id = row.last_event_id

    async def _check_not_pruned(self) -> None:
        if self.clock.now() - self.applied_at < PRUNE_WORRY:
            return  # every batch after ours is younger than the log keeps
        seen = time.monotonic()
        if seen - self._pruning_seen < PRUNE_LOOK_EVERY:
            return
        self._pruning_seen = seen
        pruned = await self.store.pruned_through()
        if pruned > self.applied_log_id:
            raise FollowerDiverged(
                f"the log was pruned through batch {pruned}; this copy stands at {self.applied_log_id}"
            )

    async def read(self, view: Callable[[Workspace], T]) -> T:
        """`view(workspace)` on the copy: committed state, as of `applied_log_id`."""
        return view(self.workspace)

    async def wait_for_event(self, event_id: int, timeout: float) -> bool:
        """Until the copy holds the batch that wrote `event_id` (a client reading its own
        write through this instance); False when `timeout` passed first."""
        async with self._applied:
            try:
                async with asyncio.timeout(timeout):
                    await self._applied.wait_for(lambda: self.applied_event_id >= event_id)
            except TimeoutError:
                return False
        return True

    # -- tailing ---------------------------------------------------------------------

    def follow(self) -> None:
        """Tail the log in the background until `stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self._tail(), name="onduty-follower")

    async def _tail(self) -> None:
        while True:
            try:
                if not await self.catch_up():
                    await asyncio.sleep(self.poll_seconds)
            except FollowerDiverged:
                log.exception("follower diverged; rebuilding from the database")
                await self.start()
            except Exception:  # the database away: try again, nothing applied twice (ids)
                log.exception("reading the command log failed")
                await asyncio.sleep(max(self.poll_seconds, 0.5))

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancelled(task)

    async def promote(self) -> tuple[Engine, RecentKeys]:
        """Stop tailing, apply what is left, and hand the engine and the keys over (to the
        service that becomes owner: `Service.start(engine=..., keys=...)`): no rebuild."""
        await self.stop()
        await self.catch_up()
        return self.engine, self.keys
