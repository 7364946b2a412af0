"""The service: the engine behind one writer, a durable commit, then publication.

Commands are applied one at a time by a single task (no routing races). The
commands that arrive while a commit is under way are applied and committed
together in the next batch (group commit): one transaction and one fsync for
many commands. A command is acknowledged only once its batch is committed;
events are published only after that. If a commit fails, the in-memory engine
is rebuilt from the database, so it never runs ahead of what is durable.

Reads see committed state only. Between applying a batch and hearing its commit
back, the engine holds changes that a crash would erase; so `read` runs a view at
once only while the engine equals what is committed, and otherwise right after
the commit under way, before the next batch is applied. A command's answer is
its own outcome: `execute(answer=...)` renders it right after the command (not
after later commands of its batch) and hands it over once the batch is committed.

Timers: the writer sleeps until the engine's next deadline and ticks it then;
deadlines that passed while the service was down fire at start.

Retries: a command given under an idempotency key (idempotency.py) that was applied
already is not applied again; its caller gets the answer rendered from the state as it is.
Under several instances the commits are fenced: a commit refused as `Superseded` (another
instance took over) is told to `on_superseded`, and the service stops serving.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError
from onduty.domain.events import Event, StatusChanged, ThreadAssigned
from onduty.domain.pickers import RoundRobin
from onduty.domain.restore import restore
from onduty.domain.workspace import Workspace
from onduty.journal import StoredEvent
from onduty.service._audience import Journal
from onduty.service._metrics import Metrics
from onduty.service._tasks import cancelled
from onduty.service.batch_run import BatchRun
from onduty.service.clock import Clock, RealClock
from onduty.service.command_codec import encode_batch
from onduty.service.fanout import FanOut, InProcessFanOut
from onduty.service.idempotency import RecentKeys, next_key, recent_keys
from onduty.storage.activity import ActivityTracker
from onduty.storage.base import Store
from onduty.storage.lease import Superseded
from onduty.storage.projection import LoggedBatch, Rows

log = structlog.get_logger("onduty.service")

MAX_BATCH = 256
# How long a read waits for the commit under way before it is answered 503: a commit
# takes milliseconds, so this is a database that stopped answering.
READ_WAIT = 5.0
RECOVER_BACKOFF = (0.2, 5.0)  # first and longest pause between attempts to rebuild
# The command log keeps an hour: far beyond the idempotency keys' 10 minutes and any
# follower's lag; a follower left further behind reads a new copy (follower.py).
LOG_KEEP = 3600.0
PRUNE_EVERY = 60.0

T = TypeVar("T")
View = Callable[[Workspace], Any]


class ServiceUnavailable(Exception):
    """The command could not be made durable; nothing of it was kept."""


@dataclass(slots=True)
class Outcome:
    events: list[Event]
    stored: list[StoredEvent]
    answer: Any = None  # what `execute(answer=...)` rendered right after the command
    repeated: bool = False  # applied before under the same idempotency key: not applied again


@dataclass(slots=True)
class _Pending:
    command: c.Command | None  # None: no command, only a pass of the writer (timers, a barrier)
    future: asyncio.Future[Outcome]
    check: View | None = None  # may refuse the command on the state it would apply to
    answer: View | None = None
    key: str | None = None  # its idempotency key
    repeated: bool = False
    rendered: Any = None
    answer_error: Exception | None = None  # the answer's view failed: a bug, told after the commit


Superseded_ = Callable[[Superseded], None]


class Service:
    def __init__(
        self,
        store: Store,
        *,
        fanout: FanOut | None = None,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        on_superseded: Superseded_ | None = None,
    ) -> None:
        self.store = store
        self.fanout = fanout or InProcessFanOut()
        self.clock = clock or RealClock()
        self.metrics = metrics or Metrics()
        self._on_superseded = on_superseded
        self.keys = RecentKeys()  # the idempotency keys applied lately
        self.engine = Engine()
        self.activity = ActivityTracker()
        self.journal = Journal()
        self._inbox: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.last_event_id = 0
        # False from applying a batch until its commit is heard back: the engine is then
        # ahead of the database, and readers wait for `_committed`.
        self._clean = True
        self._stopped = False
        # A commit failed and the engine could not be rebuilt from the database either: it
        # is trusted by nobody until the writer has rebuilt it (`_recover`).
        self._lost = False
        self._readers: list[tuple[View, asyncio.Future[Any]]] = []

    @property
    def workspace(self) -> Workspace:
        return self.engine.workspace

    # -- life cycle ----------------------------------------------------------------

    async def start(
        self, *, engine: Engine | None = None, keys: RecentKeys | None = None, reset_connections: bool = True
    ) -> None:
        """Rebuild the engine from the database, or take `engine` and `keys`: a follower's,
        caught up with every committed batch (follower.py `promote`), which needs no rebuild.
        `reset_connections`: no event stream is open in a new process (one instance); under
        several, the streams on the other instances stay (the instances' watch drops those of
        an instance that is gone)."""
        started = time.perf_counter()
        if engine is None:
            await self._reload()
        else:
            self.engine = engine
            self.keys = keys or RecentKeys()
            self.activity = await self.store.last_activity()
            self.journal = Journal(self.workspace.routing())
            self.metrics.queue_length.set(len(self.workspace.queue))
        self.last_event_id = await self.store.last_event_id()
        # Deadlines that fell while we were down, then S8.
        started_future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        first = c.ResetConnections() if reset_connections else None
        await self._commit_batch([_Pending(first, started_future)], tick=True)
        self._writer = asyncio.create_task(self._write_loop(), name="onduty-writer")
        self._pruner = asyncio.create_task(self._prune_loop(), name="onduty-log-pruner")
        log.info(
            "service started",
            agents=len(self.workspace.agents),
            open_threads=len(self.workspace.threads),
            seconds=round(time.perf_counter() - started, 3),
        )

    async def stop(self) -> None:
        self._stopped = True
        try:
            await cancelled(self._pruner, self._writer)
        finally:  # stopped, or being cancelled itself: nobody is left waiting either way
            self._writer = self._pruner = None
            self._refuse_waiting(ServiceUnavailable("the service is stopping"))

    def _refuse_waiting(self, error: ServiceUnavailable) -> None:
        """Every command in the inbox and every reader waiting is told `error`."""
        while not self._inbox.empty():
            future = self._inbox.get_nowait().future
            if not future.done():  # its caller may have gone (cancelled)
                future.set_exception(error)
        readers, self._readers = self._readers, []
        for _, waiting in readers:
            if not waiting.done():
                waiting.set_exception(error)

    async def _reload(self) -> None:
        now = self.clock.now()
        snapshot = await self.store.load_snapshot(now)
        keys = await recent_keys(self.store, now)
        self.engine = restore(snapshot)
        self.keys = keys
        self.activity = await self.store.last_activity()
        self.journal = Journal(self.workspace.routing())  # as the last committed batch told it
        self.metrics.queue_length.set(len(self.workspace.queue))

    # -- commands ------------------------------------------------------------------

    async def execute(
        self, command: c.Command, *, check: View | None = None, answer: View | None = None, key: str | None = None
    ) -> Outcome:
        """Apply a command; returns once its effects are committed. Raises DomainError.

        `check(workspace)` runs just before the command, on the state it would apply to,
        and refuses it by raising (whatever it raises reaches the caller; nothing changes).
        `answer(workspace)` runs just after it: the answer shows this command's outcome,
        not what later commands of the same batch made of it, and only once committed.
        `key`: its idempotency key (by default the request's next: idempotency.py); a key
        applied already is not applied again (`Outcome.repeated`, the answer as things are)."""
        self._check_serving()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Pending(command, future, check, answer, key or next_key(type(command).__name__)))
        return await future

    def _check_serving(self) -> None:
        if self._stopped:
            raise ServiceUnavailable("the service is stopping")
        if self._lost:
            raise ServiceUnavailable("the database cannot be reached; nothing was changed")

    async def read(self, view: Callable[[Workspace], T]) -> T:
        """`view(workspace)` on committed state: at once when the engine holds nothing
        uncommitted, else right after the commit under way. Whatever `view` raises
        reaches the caller. Views must not change the workspace."""
        if self._clean:
            return view(self.workspace)
        self._check_serving()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._readers.append((view, future))
        try:
            async with asyncio.timeout(READ_WAIT):
                return await future  # a late one is cancelled: skipped
        except TimeoutError:
            raise ServiceUnavailable("the service is still saving an earlier change; try again") from None

    def _committed(self) -> None:
        """The engine equals the database again: serve the readers who waited."""
        self._clean = True
        readers, self._readers = self._readers, []
        ws = self.workspace
        for view, future in readers:
            if future.cancelled():
                continue
            try:
                future.set_result(view(ws))
            except Exception as error:  # the reader's refusal (not found, forbidden): theirs to hear
                future.set_exception(error)

    async def settle(self) -> None:
        """Returns once the writer has ticked the clock and committed all that came
        before: a barrier for tests, and the way to wake the writer after a clock jump."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(_Pending(None, future))
        await future

    async def _write_loop(self) -> None:
        while True:
            if self._lost:
                await self._recover()
            pending = await self._next_commands()
            try:
                await self._commit_batch(pending, tick=True)
            except Superseded:
                return  # no longer the owner: nothing more is applied here
            except Exception:  # a bug, not bad input: keep serving, never run ahead of the database
                log.exception("batch failed; engine reloaded from the database")

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            try:
                pruned = await self.store.prune_command_log(self.clock.now() - LOG_KEEP)
            except Exception as error:  # the database away: next time
                log.warning("the command log was not pruned", error=repr(error))
            else:
                if pruned:
                    log.info("command log pruned", batches=pruned)

    async def _recover(self) -> None:
        """Rebuild the engine from the database, waiting between attempts. Meanwhile every
        command and read is answered 503: nothing is applied onto an engine that may hold
        what a failed commit did not keep."""
        pause, longest = RECOVER_BACKOFF
        while True:
            self._refuse_waiting(ServiceUnavailable("the database cannot be reached; nothing was changed"))
            try:
                await self._reload()
            except Exception as error:
                log.warning("the engine cannot be rebuilt from the database yet", error=repr(error))
                await asyncio.sleep(pause)
                pause = min(longest, pause * 2)
                continue
            self._lost = False
            self._committed()
            log.info("engine rebuilt from the database")
            return

    async def _next_commands(self) -> list[_Pending]:
        """Wait for commands, or for the next deadline; then take all that wait (group commit)."""
        inbox = self._inbox
        if inbox.empty():
            deadline = self.engine.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.clock.now())
            try:
                async with asyncio.timeout(timeout):
                    first = await inbox.get()
            except TimeoutError:
                return []
            batch = [first]
        else:
            batch = [inbox.get_nowait()]
        while len(batch) < MAX_BATCH and not inbox.empty():
            batch.append(inbox.get_nowait())
        return batch

    async def _commit_batch(self, batch: list[_Pending], *, tick: bool) -> None:
        try:
            self._clean = False
            rows, applied = self._apply(batch, tick=tick)
            stored: list[StoredEvent] = []
            if rows:
                started = time.perf_counter()
                stored = await self.store.commit(rows, rows.agent_rows(self.workspace))
                self.metrics.commit_seconds.observe(time.perf_counter() - started)
        except asyncio.CancelledError:
            # The service is stopping mid-commit: the committer let the transaction end, but
            # nobody waits for its outcome here; those waiting are told it is unknown.
            stopping = ServiceUnavailable("the service stopped while saving this change; it may have been saved")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(stopping)
            raise
        except Superseded as superseded:
            # Another instance owns the workspace now: nothing of the batch was written, and
            # this one applies nothing more (its owner hands over: node.py).
            self._stopped = True
            moved = ServiceUnavailable("another instance took over the workspace; nothing was changed; try again")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(moved)
            self._refuse_waiting(moved)
            if self._on_superseded is not None:
                self._on_superseded(superseded)
            raise
        except BaseException:
            # Not durable, so not done: nobody is told otherwise, and the engine goes back
            # to what the database holds (a bug mid-command is handled the same way).
            failure = ServiceUnavailable("the change could not be saved; nothing was changed")
            try:
                await self._reload()  # before anyone hears back, so nobody sees what was not kept
                self._committed()
            except Exception:
                self._lost = True  # the writer rebuilds it before anything else (`_recover`)
                self._refuse_waiting(failure)
                raise
            finally:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(failure)
            raise
        self._committed()
        self.metrics.batch_size.observe(max(1, len(batch)))
        self.metrics.queue_length.set(len(self.workspace.queue))
        self._acknowledge(applied, stored)
        if stored:
            self.last_event_id = stored[-1].id
            await self.fanout.publish(stored)

    def _apply(self, batch: list[_Pending], *, tick: bool) -> tuple[Rows, list[tuple[_Pending, list[Event], int]]]:
        """Run the due timers and the batch's commands through the engine, one at a time.
        A refused command is answered at once; it changed nothing. What was applied goes to
        the command log with the batch's rows (followers apply it: batch_run.py)."""
        ws = self.workspace
        rows = Rows(tracker=self.activity)
        applied: list[tuple[_Pending, list[Event], int]] = []
        run = BatchRun(self.engine, self.clock.now(), tick=tick)
        if tick:
            self._record(run.tick_events, ws, rows)
        for pending in batch:
            if pending.future.cancelled():
                continue
            first = len(rows.journal)
            if pending.command is None:
                applied.append((pending, [], first))
                continue
            if pending.key is not None and pending.key in self.keys:
                self._answer_repeat(pending, ws)
                applied.append((pending, [], first))
                continue
            try:
                if pending.check is not None:
                    pending.check(ws)  # reads only: whatever it raises is a refusal
            except Exception as error:
                self.metrics.refused.inc()
                pending.future.set_exception(error)
                continue
            try:
                events = run.handle(pending.command, pending.key)
            except DomainError as error:  # refused; anything else is a bug and fails the batch
                self.metrics.refused.inc()
                pending.future.set_exception(error)
                continue
            self._record(events, ws, rows)
            rows.add_command(pending.command)
            if pending.key is not None:
                self.keys.add(pending.key, run.at)  # a failed commit rebuilds them (`_reload`)
            if pending.answer is not None:
                try:
                    pending.rendered = pending.answer(ws)
                except Exception as error:  # the command stands; only its answer failed
                    pending.answer_error = error
            applied.append((pending, events, first))
        if isinstance(ws.picker, RoundRobin):
            rows.meta["round_robin_last"] = ws.picker.last
        if run.changed or rows:  # every committed batch has its log row, in its transaction
            rows.log = LoggedBatch(run.at, tick, encode_batch(run.applied, run.keys))
        return rows, applied

    def _answer_repeat(self, pending: _Pending, ws: Workspace) -> None:
        """A retry of a command applied already: its answer from the state as it is now."""
        pending.repeated = True
        if pending.answer is not None:
            try:
                pending.rendered = pending.answer(ws)
            except Exception as error:
                pending.answer_error = error

    def _record(self, events: list[Event], ws: Workspace, rows: Rows) -> None:
        """A command's events, right after it (so that each is seen as of its moment): the
        rows they write and the journal entries that tell them."""
        rows.add(events, ws)
        self.journal.add(events, ws, rows.journal)
        self._count(events)

    def _acknowledge(self, applied: list[tuple[_Pending, list[Event], int]], stored: list[StoredEvent]) -> None:
        self.metrics.applied.inc(sum(1 for pending, _, _ in applied if pending.command is not None))
        for index, (pending, events, first) in enumerate(applied):
            # A command's journal entries run from its own start to the next command's.
            end = applied[index + 1][2] if index + 1 < len(applied) else len(stored)
            if pending.future.done():
                continue
            if pending.answer_error is not None:
                pending.future.set_exception(pending.answer_error)
            else:
                pending.future.set_result(Outcome(events, stored[first:end], pending.rendered, pending.repeated))

    def _count(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, StatusChanged):
                self.metrics.status_changes.inc()
            elif isinstance(event, ThreadAssigned):
                self.metrics.assignments.inc()

    def now(self) -> float:
        return self.clock.now()
