"""A real `onduty serve` to crash: people made through its API, every call recorded, the
server killed with SIGKILL and started again on the same database, and the reads an audit
needs afterwards (the status log, the journal, threads, approvals, the widget's rows).
`ApiSite` is the part that does not depend on how many servers there are
(instance_site.py runs several).

A call whose answer was a 2xx is *acknowledged*: it is kept as an `Ack` with what the
answer said and when it was sent and received (this machine's clock, which is the
server's), for crash_audit.py to judge against what the database holds after the crash.
A call that got no answer (the server was killed under it) or a 4xx acknowledged nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import connect

from onduty.storage.database import Database
from tests.serve_process import ServeProcess

TEAM = "support"
WAIT = 20.0  # the most any single wait may take beyond what it waits for


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    username: str
    role: str
    token: str


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledged request and its answer."""

    who: Person
    method: str
    path: str
    body: Any
    sent: float
    received: float
    status: int
    answer: Any
    round: int


@dataclass(slots=True)
class Calls:
    """What was asked, answered and refused: the load's own tally, for the report."""

    acks: list[Ack] = field(default_factory=list)
    refused: int = 0  # 4xx: refused, changed nothing (a thread closed meanwhile, a request decided)
    lost: int = 0  # no answer: the server died under it, or was down (or a 5xx)


class ApiSite:
    """A site's API, called as its users call it: every call recorded (`calls`), the
    scenario's own calls (`must`), the people it makes, and the reads an audit needs. Where
    a request goes is the subclass's (`send`: one server, or one of several instances)."""

    def __init__(self) -> None:
        self.began = time.time()
        self.round = 0
        self.calls = Calls()
        self.admin = Person(0, "", "admin", "")

    async def send(
        self, who: Person, method: str, path: str, body: Any, params: dict[str, Any] | None
    ) -> httpx.Response:
        """One request under `/api/v1` as `who`; raises httpx.TransportError when it got no answer."""
        raise NotImplementedError

    def stream_url(self, after: int) -> str:
        """The event stream of a server that answers now, from after `after`."""
        raise NotImplementedError

    # -- calls -------------------------------------------------------------------

    async def call(self, who: Person, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response | None:
        """One request, recorded: an `Ack` when answered 2xx; None when there was no answer."""
        sent = time.time()
        try:
            response = await self.send(who, method, path, body, params or None)
        except httpx.TransportError:
            self.calls.lost += 1
            return None
        except asyncio.CancelledError:
            self.calls.lost += 1  # the load stopped after a kill with this one unanswered
            raise
        received = time.time()
        if 200 <= response.status_code < 300:
            answer = response.json() if response.content else None
            self.calls.acks.append(
                Ack(who, method, path, body, sent, received, response.status_code, answer, self.round)
            )
        elif 400 <= response.status_code < 500:
            self.calls.refused += 1
        else:
            self.calls.lost += 1  # 5xx: not acknowledged (the service could not save it)
        return response

    async def must(self, who: Person, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A call of the scenario itself (not of the load): it must succeed, and is not recorded."""
        response = await self.send(who, method, path, body, params or None)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def person(self, username: str, role: str, **extra: Any) -> Person:
        body = {"username": username, "role": role, **extra}
        if role in ("agent", "supervisor"):
            body.setdefault("team", TEAM)
        created = await self.must(self.admin, "POST", "/users", body)
        return Person(created["id"], username, role, created["token"])

    # -- what the database holds, through the API ----------------------------------

    async def status_log(self) -> list[dict[str, Any]]:
        """Every row of the status log (S7, P1) since the site opened, newest first as it lists them."""
        rows: list[dict[str, Any]] = []
        after = 0
        window = {"from": iso(self.began - 60), "to": iso(time.time() + 3600)}
        while True:
            page = await self.must(self.admin, "GET", "/reports/status-log", limit=5000, after=after, **window)
            rows += page["items"]
            if page["next"] is None:
                return rows
            after = page["next"]

    async def journal(self, after: int = 0) -> list[dict[str, Any]]:
        """The journal as the event stream replays it to an admin (who sees everything):
        every event after `after`, in order, up to `stream.ready`."""
        seen: list[dict[str, Any]] = []
        async with connect(
            self.stream_url(after), additional_headers={"Authorization": f"Bearer {self.admin.token}"}, max_size=None
        ) as ws:
            while True:
                event = json.loads(await ws.recv())
                if event["name"] == "stream.ready":
                    return seen
                seen.append(event)

    async def threads(self) -> dict[int, dict[str, Any]]:
        """Every thread, open and closed, with its messages, by id."""
        found: dict[int, dict[str, Any]] = {}
        after = 0
        while True:
            page = await self.must(self.admin, "GET", "/threads", after=after, limit=500)
            found.update((thread["id"], thread) for thread in page["items"])
            if page["next"] is None:
                return found
            after = page["next"]

    async def approvals(self) -> dict[int, dict[str, Any]]:
        return {a["id"]: a for a in await self.must(self.admin, "GET", "/approvals")}

    async def agents(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self.must(self.admin, "GET", "/agents")
        return rows

    async def queue(self) -> dict[str, Any]:
        queue: dict[str, Any] = await self.must(self.admin, "GET", "/queue", limit=1000)
        return queue

    async def settled(self) -> dict[str, Any]:
        """One consistent picture: read everything, then the journal again; if nothing happened
        meanwhile (a timer may fire at any time), the picture is of one moment."""
        for _ in range(100):
            journal = await self.journal()
            picture = {
                "journal": journal,
                "log": await self.status_log(),
                "threads": await self.threads(),
                "approvals": await self.approvals(),
                "agents": await self.agents(),
                "queue": await self.queue(),
            }
            if not await self.journal(after=journal[-1]["id"] if journal else 0):
                return picture
        raise AssertionError("the site never stood still for one reading of its state")


class CrashSite(ApiSite, ServeProcess):
    """One server, killed and started again on the same database and port."""

    def __init__(self, database: str, workdir: Path, *options: str) -> None:
        ApiSite.__init__(self)
        ServeProcess.__init__(self, database, workdir, *options)
        self.kills: list[float] = []  # when each SIGKILL was sent
        self.starts: list[float] = []  # when each start was healthy
        self.http: httpx.AsyncClient | None = None

    # -- the process -------------------------------------------------------------

    def open(self) -> None:
        """The first admin from the command line (as an operator does), then the server."""
        created = json.loads(self.onduty("users", "add", "root", "--role", "admin"))
        self.admin = Person(created["id"], "root", "admin", created["token"])
        self.start()

    def start(self, timeout: float = 30) -> None:
        super().start(timeout)
        self.starts.append(time.time())

    def crash(self) -> None:
        """SIGKILL: no clean stop, no flush, nothing the server could do about it."""
        self.kills.append(time.time())
        self.kill()

    async def restart(self) -> None:
        """Start again on the same database and port, with fresh connections (the old ones
        died with the process)."""
        self.start()
        await self._connect()

    async def _connect(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)  # one per load task and more
        self.http = httpx.AsyncClient(base_url=f"{self.base}/api/v1", timeout=WAIT, limits=limits)

    async def __aenter__(self) -> CrashSite:
        await self._connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.http is not None:
            await self.http.aclose()
        self.stop()

    async def send(
        self, who: Person, method: str, path: str, body: Any, params: dict[str, Any] | None
    ) -> httpx.Response:
        assert self.http is not None
        return await self.http.request(
            method, path, json=body, params=params, headers={"Authorization": f"Bearer {who.token}"}
        )

    def stream_url(self, after: int) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/events?after={after}"


async def poll(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    """Until `check` answers something true; never a fixed sleep standing in for a condition."""
    end = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout:.1f}s")
        await asyncio.sleep(0.05)


class OutsideWriter:
    """Another writer on the same database holding its write lock for a while, as an operator's
    `onduty users add` beside the server may: the server's next commit waits meanwhile, its
    batch applied in memory and not yet saved (what a slow disk does too, only longer)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.holding = False  # the lock is this writer's now: the server can save nothing

    async def now_and_then(
        self, rng: random.Random, hold: tuple[float, float] = (0.05, 0.25), pause: tuple[float, float] = (0.02, 0.15)
    ) -> None:
        """Holds the lock for a moment, lets go for a moment (seconds, uniformly drawn from
        the ranges), until cancelled."""
        while True:
            await self.hold(rng.uniform(*hold))
            await asyncio.sleep(rng.uniform(*pause))

    async def hold(self, seconds: float) -> None:
        if self.db.is_sqlite:
            await asyncio.to_thread(self._hold_sqlite, seconds)
            return
        conn = await asyncpg.connect(self.db.url, timeout=WAIT)
        try:
            async with conn.transaction():
                # Inserts into the log conflict with this; the server's commits wait for it.
                await conn.execute("LOCK TABLE status_log IN EXCLUSIVE MODE")
                self.holding = True
                try:
                    await asyncio.sleep(seconds)
                finally:
                    self.holding = False
        finally:
            await conn.close()

    def _hold_sqlite(self, seconds: float) -> None:
        conn = sqlite3.connect(self.db.sqlite_path, timeout=WAIT, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock, waited for
            self.holding = True
            time.sleep(seconds)
            self.holding = False
            conn.execute("ROLLBACK")
        finally:
            conn.close()
