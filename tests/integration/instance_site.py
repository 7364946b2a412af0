"""Several real `onduty serve` instances sharing one PostgreSQL database and one Redis, and
a client that calls them as a load balancer in front of them would.

Each `Instance` is a `serve --redis` process on a loopback port with an id of its own
(`i1`, `i2`, …; a process started again after a kill is a new instance with a new id).
`InstancesSite` is an `ApiSite` (crash_site.py): the load (crash_load.py) and the audits
(crash_audit.py) run on it as on one server. What differs is `send`:

- each request goes to an instance drawn at random among those running (and not taken
  out of rotation, as a load balancer takes out one that stopped answering);
- a write (anything but GET) carries an `Idempotency-Key` of its own, and is sent again,
  under the SAME key, to another draw when the answer is a 503 or there is no answer (a
  dead instance, a refused connection, a timeout), for up to RETRY_FOR seconds: the
  service promises such a request is applied once however often it is sent;
- every attempt is kept (`attempts`), and the answers no retry rule covers (a 5xx that is
  not a 503) are kept apart (`errors`): a server error is a bug, never "unavailable".

The audits also read PostgreSQL directly (`Ledger`): the journal with each event's scope
(who may see it), the command log with its epochs, the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from onduty.journal import StoredEvent
from onduty.storage.database import Database
from tests.integration.crash_site import ApiSite, Person
from tests.serve_process import ServeProcess

# Short leases keep a takeover to about two seconds (lease + one retry) instead of four.
SHORT_LEASE = ("--lease-seconds", "1.5", "--renew-every", "0.5")
RETRY_FOR = 40.0  # seconds a request is tried again: past a takeover and a database restart
ATTEMPT_TIMEOUT = 10.0  # one attempt: longer than a follower's forwarding of a takeover
RETRY_PAUSE = 0.05
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Instance(ServeProcess):
    """One `onduty serve` joined to the others through Redis."""

    def __init__(self, name: str, database: str, workdir: Path, redis_url: str, lease: tuple[str, ...]) -> None:
        super().__init__(database, workdir, "--redis", redis_url, "--instance-id", name, *lease, name=name)
        self.name = name
        self.started_at: float | None = None  # when it answered /healthz first (this machine's clock)
        self.killed_at: float | None = None

    def start(self, timeout: float = 60) -> None:
        super().start(timeout)
        self.started_at = time.time()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def owned_epochs(self) -> list[int]:
        """The epochs this process's log says it acquired the lease under."""
        return [int(m) for m in re.findall(r"workspace owned\s+epoch=(\d+)", self.log_text())]

    def lost_epochs(self) -> list[int]:
        """The epochs this process's log says it lost ownership of."""
        return [int(m) for m in re.findall(r"workspace ownership lost\s+epoch=(\d+)", self.log_text())]

    def __repr__(self) -> str:
        return f"{self.name}@{self.port}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sending of a request to one instance."""

    key: str | None  # the write's idempotency key (None: a read)
    instance: str
    method: str
    path: str
    sent: float
    received: float
    status: int | None  # None: no answer (dead, refused, timed out)


@dataclass(slots=True)
class Write:
    """One write as the client sent it, under one idempotency key, however many attempts it
    took: its final answer (None: none came within RETRY_FOR), by which instance, when its
    last attempt was sent, and the journal id the answer named (`Onduty-Event-Id`)."""

    key: str
    who: Person
    method: str
    path: str
    body: Any
    attempts: int = 0
    status: int | None = None
    instance: str | None = None
    last_sent: float = 0.0
    received: float = 0.0
    event_id: int | None = None
    refusal: str = ""  # a refused write's error, as answered


# The instance a task's next request tries first (the scenario aiming at one instance).
_first: contextvars.ContextVar[Instance | None] = contextvars.ContextVar("first_instance", default=None)


@contextlib.contextmanager
def first_to(instance: Instance) -> Iterator[None]:
    """Within it, each request of this task tries `instance` first (then any other, as usual)."""
    token = _first.set(instance)
    try:
        yield
    finally:
        _first.reset(token)


class InstancesSite(ApiSite):
    def __init__(
        self,
        database: Database,
        workdir: Path,
        redis_url: str,
        *,
        seed: int,
        count: int = 3,
        lease: tuple[str, ...] = SHORT_LEASE,
    ) -> None:
        super().__init__()
        self.database, self.workdir, self.redis_url, self.lease = database, workdir, redis_url, lease
        self.count = count
        self.rng = random.Random(f"{seed}-instances")
        self.instances: list[Instance] = []  # every instance ever started, the dead ones too
        self.out_of_rotation: set[str] = set()  # instances the client sends nothing to
        self.attempts: list[Attempt] = []
        self.writes: list[Write] = []
        self.pinned: Instance | None = None  # every request goes there (an audit's reads)
        self.errors: list[str] = []  # 5xx answers other than 503: never expected
        self.retries = 0
        self.slow_stops: list[str] = []  # instances that had to be killed at the end
        self.http = httpx.AsyncClient(
            timeout=ATTEMPT_TIMEOUT, limits=httpx.Limits(max_connections=200, max_keepalive_connections=64)
        )
        self.ledger = Ledger(database)

    # -- the processes -----------------------------------------------------------

    async def open(self) -> None:
        """The first admin from the command line (before any instance runs: it refuses
        beside running instances), then `count` instances, started at once."""
        first = self.new_instance()
        created = json.loads(await asyncio.to_thread(first.onduty, "users", "add", "root", "--role", "admin"))
        self.admin = Person(created["id"], "root", "admin", created["token"])
        await asyncio.gather(asyncio.to_thread(first.start), *(self.start_instance() for _ in range(self.count - 1)))

    def new_instance(self) -> Instance:
        """A new instance (a new id and port), not started yet."""
        instance = Instance(f"i{len(self.instances) + 1}", self.database.url, self.workdir, self.redis_url, self.lease)
        self.instances.append(instance)
        return instance

    async def start_instance(self, instance: Instance | None = None) -> Instance:
        """A new instance joining the others (or `instance`, made by new_instance)."""
        instance = instance or self.new_instance()
        await asyncio.to_thread(instance.start)
        return instance

    @property
    def running(self) -> list[Instance]:
        return [i for i in self.instances if i.running]

    def kill(self, instance: Instance) -> float:
        """SIGKILL; answers when it was sent."""
        instance.killed_at = time.time()
        instance.kill()
        return instance.killed_at

    async def close(self) -> None:
        for instance in self.instances:
            if instance.running:
                instance.resume()  # a paused process never hears SIGTERM
        stopped = await asyncio.gather(*(asyncio.to_thread(i.stop) for i in self.instances))
        self.slow_stops = [i.name for i, clean in zip(self.instances, stopped, strict=True) if not clean]
        if self.slow_stops:
            print(f"instances that did not stop within 10 s of SIGTERM (killed): {self.slow_stops}")
        await self.http.aclose()

    # -- health ------------------------------------------------------------------

    async def health(self, instance: Instance, timeout: float = 2.0) -> dict[str, Any] | None:
        """/healthz's answer when it is 200; None otherwise (no answer, 503)."""
        try:
            response = await self.http.get(f"{instance.base}/healthz", timeout=timeout)
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        answer: dict[str, Any] = response.json()
        return answer

    async def healths(self, instances: Iterable[Instance] | None = None) -> dict[str, dict[str, Any] | None]:
        chosen = list(self.running if instances is None else instances)
        answers = await asyncio.gather(*(self.health(i) for i in chosen))
        return {i.name: a for i, a in zip(chosen, answers, strict=True)}

    async def owner(
        self, timeout: float, among: Iterable[Instance] | None = None, starting: Iterable[Instance] = ()
    ) -> tuple[Instance, int]:
        """The instance that owns the workspace, once exactly one of those running (or of
        `among`) says so and every other one answers as a follower (those `starting` may
        not answer yet); and its epoch."""
        chosen = list(self.running if among is None else among)
        late = {i.name for i in starting}
        end = time.monotonic() + timeout
        seen: dict[str, dict[str, Any] | None] = {}
        while time.monotonic() < end:
            seen = await self.healths(chosen)
            owners = [i for i in chosen if (seen[i.name] or {}).get("role") == "owner"]
            followers = [i for i in chosen if (seen[i.name] or {}).get("role") == "follower"]
            silent = [i for i in chosen if seen[i.name] is None and i.name in late]
            if len(owners) == 1 and len(owners) + len(followers) + len(silent) == len(chosen):
                epoch = seen[owners[0].name]
                assert epoch is not None
                return owners[0], int(epoch["epoch"])
            await asyncio.sleep(0.05)
        for instance in chosen:  # what each was stuck on, in its log for the failure's message
            if instance.running:
                await asyncio.to_thread(instance.dump_tasks)
        raise AssertionError(f"no single owner among {chosen} within {timeout:.1f}s; /healthz said {seen}")

    async def all_applied(self, timeout: float) -> tuple[int, dict[str, dict[str, Any] | None]]:
        """Once every running instance answers and holds the same last event (and the
        journal has nothing beyond it): that id, and what each /healthz said."""
        end = time.monotonic() + timeout
        seen: dict[str, dict[str, Any] | None] = {}
        while time.monotonic() < end:
            last = await self.ledger.last_event_id()
            seen = await self.healths()
            applied = {(h or {}).get("applied_event_id") for h in seen.values()}
            if applied == {last}:
                return last, seen
            await asyncio.sleep(0.05)
        last = await self.ledger.last_event_id()
        raise AssertionError(f"the instances did not all apply event {last} within {timeout:.1f}s: {seen}")

    # -- the client --------------------------------------------------------------

    def _pick(self, avoid: str | None = None) -> Instance | None:
        if self.pinned is not None:
            return self.pinned
        usable = [i for i in self.running if i.name not in self.out_of_rotation]
        others = [i for i in usable if i.name != avoid]
        choice = others or usable
        return self.rng.choice(choice) if choice else None

    async def send(
        self, who: Person, method: str, path: str, body: Any, params: dict[str, Any] | None
    ) -> httpx.Response:
        write = None
        headers = {"Authorization": f"Bearer {who.token}"}
        if method not in READS:
            write = Write(f"t-{uuid.uuid4().hex}", who, method, path, body)
            self.writes.append(write)
            headers["Idempotency-Key"] = write.key
        deadline = time.monotonic() + RETRY_FOR
        first, last, why = _first.get(), None, ""
        while True:
            instance = first if first is not None and last is None else self._pick(avoid=last)
            response = None
            if instance is None:
                why = "no instance running"
            else:
                last = instance.name
                sent = time.time()
                try:
                    response = await self.http.request(
                        method, f"{instance.base}/api/v1{path}", json=body, params=params, headers=headers
                    )
                    why = str(response.status_code)
                except httpx.TransportError as error:
                    why = type(error).__name__
                status = response.status_code if response is not None else None
                self.attempts.append(
                    Attempt(write.key if write else None, instance.name, method, path, sent, time.time(), status)
                )
                if write is not None:
                    write.attempts += 1
                    write.last_sent = sent
            if response is not None and response.status_code != 503:
                if response.status_code >= 500:
                    self.errors.append(f"{method} {path} on {instance}: {response.status_code} {response.text}")
                if write is not None and instance is not None:
                    event_id = response.headers.get("onduty-event-id")
                    write.status, write.instance, write.received = response.status_code, instance.name, time.time()
                    write.event_id = int(event_id) if event_id is not None else None
                    if response.status_code >= 400:
                        write.refusal = response.text
                return response
            if time.monotonic() > deadline:
                if response is not None:
                    return response  # the 503 itself
                raise httpx.ConnectError(f"{method} {path}: no answer within {RETRY_FOR}s (last: {why})")
            self.retries += 1
            await asyncio.sleep(RETRY_PAUSE)

    async def send_to(
        self,
        instance: Instance,
        who: Person,
        method: str,
        path: str,
        body: Any = None,
        timeout: float = ATTEMPT_TIMEOUT,
    ) -> httpx.Response | None:
        """One attempt at one instance (no retry): its answer, or None."""
        try:
            return await self.http.request(
                method,
                f"{instance.base}/api/v1{path}",
                json=body,
                headers={"Authorization": f"Bearer {who.token}"},
                timeout=timeout,
            )
        except httpx.TransportError:
            return None

    def stream_url(self, after: int) -> str:
        instance = self._pick()
        assert instance is not None, "no instance runs"
        return instance_stream_url(instance, after)


def instance_stream_url(instance: Instance, after: int) -> str:
    return f"ws://127.0.0.1:{instance.port}/api/v1/events?after={after}"


@dataclass(frozen=True, slots=True)
class LogRow:
    """A row of the command log, as the audits need it."""

    id: int
    at: float
    epoch: int | None
    last_event_id: int | None
    commands: list[dict[str, Any]]


class Ledger:
    """What PostgreSQL holds, read directly: the journal with scopes, the command log, the lease."""

    def __init__(self, database: Database) -> None:
        self.url = database.url.replace("postgresql://", "postgres://")

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url, timeout=10)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await conn.close()

    async def last_event_id(self) -> int:
        return int((await self._fetch("SELECT coalesce(max(id), 0) FROM events"))[0][0])

    async def events(self, after: int = 0) -> list[StoredEvent]:
        rows = await self._fetch("SELECT id, name, at, data, scope FROM events WHERE id > $1 ORDER BY id", after)
        return [StoredEvent(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4])) for r in rows]

    async def command_log(self) -> list[LogRow]:
        rows = await self._fetch("SELECT id, at, epoch, last_event_id, commands FROM command_log ORDER BY id")
        return [LogRow(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    async def messages(self) -> Counter[tuple[str, str]]:
        """How many message rows each (author, text) has."""
        rows = await self._fetch("SELECT author, text, count(*) FROM messages GROUP BY author, text")
        return Counter({(r[0], r[1]): int(r[2]) for r in rows})

    async def waiting_on_status_log(self) -> int:
        """Backends of this database waiting for a lock while writing the status log (only
        the owner's commits write it)."""
        rows = await self._fetch(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE '%status_log%'"
        )
        return int(rows[0][0])

    @contextlib.asynccontextmanager
    async def holding_status_log(self) -> AsyncIterator[None]:
        """The status log locked against writers (readers go on) until the block ends: the
        owner's next commit that writes it waits, mid-transaction, its fence passed."""
        conn = await asyncpg.connect(self.url, timeout=10)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE status_log IN EXCLUSIVE MODE")
                yield
        finally:
            await conn.close()

    async def activity(self) -> list[str]:
        """What this database's other sessions are doing (pg_stat_activity), for a failure."""
        try:
            rows = await self._fetch(
                "SELECT pid, state, wait_event_type, wait_event,"
                " round(extract(epoch FROM now() - state_change)::numeric, 2),"
                " left(regexp_replace(query, '\\s+', ' ', 'g'), 100) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
        except Exception as error:  # the database away: say so
            return [f"pg_stat_activity not read: {error!r}"]
        return [" | ".join(str(v) for v in row) for row in rows]

    async def lease(self) -> tuple[str, int] | None:
        rows = await self._fetch("SELECT owner, epoch FROM workspace_lease WHERE workspace = 'default'")
        return (rows[0][0], int(rows[0][1])) if rows else None
