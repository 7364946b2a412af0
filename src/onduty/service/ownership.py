"""Keeping the workspace's lease: acquire, renew, and tell the user when it is gained or lost.

One `Ownership` per instance. While it holds no lease it tries to acquire one
every `retry_every`; once it holds one it renews it every `renew_every`. It
reports the loss at once when a renewal is refused (another instance took
over, or the lease lapsed), when the user reports a `Superseded` commit
(`superseded`), or when the lease may have lapsed because the database could
not be reached in time; then it goes back to trying to acquire (a new epoch,
so the user starts over from the database).

Time: the lease's expiry is the database's (lease.py). This process only
measures how long it has been since it sent its last successful statement
(`time.monotonic`, an interval, never a wall-clock instant): that bound ends no
later than the database's expiry, so an owner cut off from the database stops
acting as owner before anyone else can take over. Its commits are fenced
anyway; the bound is for what is not a commit.

Defaults (docs/scale-out.md): a lease of 3 s renewed every 1 s survives two
renewals in a row that fail or come late (a pause, a slow database); contenders
try every 1 s, so an owner that dies is replaced at most 3 s (its lease) + 1 s
(the next try) after its last renewal: within 4 s, inside the 5 s allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from onduty.service._tasks import cancelled
from onduty.storage.lease import Lease, Leases, Superseded

log = structlog.get_logger("onduty.ownership")

LEASE_SECONDS = 3.0
RENEW_EVERY = 1.0

# Whatever a lease statement raises (unreachable, timed out, a connection lost mid-way,
# a server error) is one failed attempt: the loop goes on, it never ends by itself.
Gained = Callable[[Lease], None]
Lost = Callable[[Lease, str], None]


def check_timing(lease_seconds: float, renew_every: float, retry_every: float) -> None:
    """Renewals must come well within the lease: at least two per lease, so that one late
    or failed renewal does not lose it."""
    if not lease_seconds > 0 or not renew_every > 0 or not retry_every > 0:
        raise ValueError("lease_seconds, renew_every and retry_every must be positive")
    if renew_every * 2 > lease_seconds:
        raise ValueError(
            f"renew_every ({renew_every} s) must be at most half of lease_seconds ({lease_seconds} s):"
            " one late renewal would lose the lease"
        )


def worst_case_takeover(lease_seconds: float, retry_every: float) -> float:
    """Seconds from the owner's last renewal (its death just after) to a contender's
    acquisition, leaving out the statements' own time: the lease runs out, then the
    contender's next try comes at most `retry_every` later."""
    return lease_seconds + retry_every


class Ownership:
    """The loop that keeps (or seeks) the lease. `gained` is set while this instance owns
    the workspace, `lost` while it does not (both events, one set at a time); `on_gained`
    and `on_lost` are called at each change (from the loop's task; they must not block)."""

    def __init__(
        self,
        leases: Leases,
        instance_id: str,
        *,
        lease_seconds: float = LEASE_SECONDS,
        renew_every: float = RENEW_EVERY,
        retry_every: float | None = None,
        on_gained: Gained | None = None,
        on_lost: Lost | None = None,
    ) -> None:
        retry = renew_every if retry_every is None else retry_every
        check_timing(lease_seconds, renew_every, retry)
        self.leases = leases
        self.instance_id = instance_id
        self.lease_seconds = lease_seconds
        self.renew_every = renew_every
        self.retry_every = retry
        self._on_gained = on_gained
        self._on_lost = on_lost
        self.lease: Lease | None = None
        self.gained = asyncio.Event()
        self.lost = asyncio.Event()
        self.lost.set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"onduty-ownership-{self.instance_id}")

    async def stop(self, *, release: bool = True) -> None:
        """Stops the loop. Holding the lease, it reports the loss, then (with `release`, a
        graceful stop) releases it so that another instance takes over at once."""
        task, self._task = self._task, None
        await cancelled(task)
        lease = self.lease
        if lease is None:
            return
        self._lose(lease, "stopped")
        if release:
            try:
                await self.leases.release(lease)
            except Exception as error:
                log.warning("lease not released; it will lapse", epoch=lease.epoch, error=repr(error))

    def superseded(self, error: Superseded) -> None:
        """A commit found the epoch superseded: the loss, at once (when it is the epoch held)."""
        lease = self.lease
        if lease is not None and lease.workspace == error.workspace and lease.epoch == error.epoch:
            self._lose(lease, "a commit was superseded")
            self._wake.set()

    # -- the loop ----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            lease = self.lease
            if lease is None:
                await self._try_acquire()
                if self.lease is None:
                    await self._pause(self.retry_every)
            else:
                await self._pause(self.renew_every)
                if self.lease is lease:
                    await self._renew(lease)

    async def _try_acquire(self) -> None:
        try:
            lease = await self.leases.acquire(self.instance_id, self.lease_seconds)
        except Exception as error:
            log.warning("lease not acquired: the database did not answer", error=repr(error))
            return
        if lease is not None:
            self.lease = lease
            self.lost.clear()
            self.gained.set()
            log.info("workspace owned", instance=self.instance_id, epoch=lease.epoch)
            if self._on_gained is not None:
                _tell(self._on_gained, lease)

    async def _renew(self, lease: Lease) -> None:
        """One renewal; a failed attempt is retried until the lease may have lapsed.

        The database is asked at least once, even when this process's bound has passed:
        that bound is taken when the acquire (or renewal) was sent, and an acquire that
        waited for the lease row (a frozen owner's commit holding it) is answered with a
        lease that runs a whole length from then by the database's clock. Asking is safe:
        the renewal is refused once the lease has lapsed or another holds it, and every
        commit meanwhile is fenced by the epoch."""
        asked = False
        while self.lease is lease:
            left = lease.held_until - time.monotonic()
            if left <= 0 and asked:
                self._lose(lease, "the lease lapsed: the database could not be reached in time")
                return
            asked = True
            try:
                async with asyncio.timeout(left if left > 0 else self.renew_every):
                    renewed = await self.leases.renew(lease)
            except Exception as error:
                log.warning("lease not renewed; retrying", epoch=lease.epoch, error=repr(error))
                await self._pause(min(self.renew_every, max(0.0, lease.held_until - time.monotonic())) / 2)
                continue
            if renewed is None:
                self._lose(lease, "the renewal was refused: taken over, or lapsed")
            elif self.lease is lease:
                self.lease = renewed
            return

    def _lose(self, lease: Lease, why: str) -> None:
        if self.lease is not lease:
            return
        self.lease = None
        self.gained.clear()
        self.lost.set()
        log.warning("workspace ownership lost", instance=self.instance_id, epoch=lease.epoch, why=why)
        if self._on_lost is not None:
            _tell(self._on_lost, lease, why)

    async def _pause(self, seconds: float) -> None:
        """Sleeps `seconds`, or less when woken (a loss reported from outside)."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()


def _tell(callback: Callable[..., None], *args: object) -> None:
    """A callback that raises is the user's bug: logged, and the loop keeps the lease going."""
    try:
        callback(*args)
    except Exception:
        log.exception("ownership callback failed", callback=repr(callback))
