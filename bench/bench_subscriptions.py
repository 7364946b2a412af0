"""A page receives what it shows: supervisors' dashboards subscribed to their team, against
today's stream, on a floor of 15,000 agents (docs/performance.md, "Subscriptions").

Starts a real `onduty serve` on a fresh SQLite file holding `--agents` agents in `--teams`
teams (written into the tables beforehand, as bench_api.py does, then logged in through
the API) and `--pages` supervisors, `--pages / --teams` per team. From this process over
loopback (`wsclient.py`, the lean client of the fan-out bench) it opens one
`GET /api/v1/events` per supervisor, and `--pickers` agents' pages, then in each phase:

- *subscribed*: each supervisor's page with `?subscribe={"teams": [its team], "queue":
  true}` (what supervisor.js sends), each agent's page with its transfer picker open
  (`{"presence": "all"}`: every other agent's presence, coalesced);
- *unsubscribed*: the same pages with no subscription: every status change to every page,
  as before subscriptions (and as programs that send none still get).

During a phase, `--rate` row changes a second (open loop) for `--seconds`: most flip
agents chosen at random over the whole floor between `active` and `not_ready` (`PUT
/api/v1/me/status`); a `--thread-share` of them are threads instead, half a client's new
thread (`POST /api/v1/threads`, which goes to an active agent: that agent's thread count)
and half the close of one opened about a second before (`POST /threads/{id}/close`, by its
holder, or by a supervisor while it waits in the queue: W6). Measured: frames the pages
received a second; the delay of each `agent.status_changed`, `thread.assigned` and
`thread.closed` from its `at` (the engine's time for the change's batch, taken just before
its commit: one machine, one clock, millisecond resolution) to the page reading it; status
changes a page should have had and did not (a page cut off as too slow counts here); the
server's CPU (utime + stime, its threads included) over the phase; this client's; and how
busy the whole machine was. The phases alternate over `--rounds`.

Run: .venv/bin/python bench/bench_subscriptions.py [--quick] [--pages 2000] [--rate 40] [--seconds 20]
         [--thread-share 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import uvloop
from sqlalchemy import select

import loadgen
import wsclient
from bench_api import add_admin, free_port, log_in, start_server
from bench_fanout import cpu_seconds, percentile, raise_fd_limit
from bench_instances_events import machine_ticks
from bulk import insert_rows
from onduty.service.auth import new_token, token_hash
from onduty.storage import schema as t
from onduty.storage.database import create_engine, resolve
from onduty.usernames import skeleton

STATUS = b'"agent.status_changed"'
PRESENCE = b'"presence.changed"'
THREAD_NEWS = (b'"thread.assigned"', b'"thread.closed"')  # a row's thread count
AT = b'"at":"'


# -- the floor ------------------------------------------------------------------------------


@dataclass(slots=True)
class Person:
    id: int
    token: str
    team: str


def fill(database: str, agents: int, teams: int, supervisors: int) -> tuple[list[Person], list[Person]]:
    """Agents (agent i in team t{i mod teams}) and supervisors (supervisor j of team
    t{j mod teams}), each with a token, written straight into the tables."""

    async def run() -> tuple[list[Person], list[Person]]:
        engine = create_engine(resolve(database), writes=True)
        now = time.time()
        people = [(f"agent{i}", "agent", f"t{i % teams}") for i in range(agents)]
        people += [(f"sup{j}", "supervisor", f"t{j % teams}") for j in range(supervisors)]
        tokens = [new_token() for _ in people]
        try:
            async with engine.begin() as conn:
                await insert_rows(conn, t.teams, [{"name": f"t{k}", "created_at": now} for k in range(teams)])
                rows = [
                    {"username": name, "username_skeleton": skeleton(name), "name": name.title(), "role": role,
                     "team": team, "password_hash": None, "active": True, "created_at": now}
                    for name, role, team in people
                ]  # fmt: skip
                await insert_rows(conn, t.users, rows)
                ids = dict((await conn.execute(select(t.users.c.username, t.users.c.id))).all())
                await insert_rows(
                    conn,
                    t.tokens,
                    [
                        {"token_hash": token_hash(token), "user_id": ids[name], "created_at": now}
                        for (name, _, _), token in zip(people, tokens, strict=True)
                    ],
                )
        finally:
            await engine.dispose()
        made = [Person(ids[name], token, team) for (name, _, team), token in zip(people, tokens, strict=True)]
        return made[:agents], made[agents:]

    return asyncio.run(run())


# -- the pages --------------------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    who: Person
    picker: bool  # an agent's page with its transfer picker open
    socket: wsclient.Dashboard | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    frames: int = 0
    status: Counter[int] = field(default_factory=Counter)  # agent id -> agent.status_changed received
    presence_frames: int = 0
    presence_changes: int = 0
    presence_last: float = float("-inf")  # when the last presence.changed came
    presence_gap: float = float("inf")  # the shortest time between two of them
    last_frame: float = 0.0


@dataclass(slots=True)
class Tally:
    """What every page of a phase received."""

    latencies: list[float] = field(default_factory=list)  # status changes: `at` -> read, seconds
    thread_latencies: list[float] = field(default_factory=list)  # a thread assigned or closed
    staleness: list[float] = field(default_factory=list)  # coalesced changes: `at` -> read
    frames: int = 0
    last_frame: float = 0.0


def at_of(message: bytes) -> float:
    """The wall-clock instant in an event's `at` (the first `"at":"…"` of the frame)."""
    start = message.find(AT) + len(AT)
    return datetime.fromisoformat(message[start : message.index(b'"', start)].decode()).timestamp()


def receiver(page: Page, tally: Tally, offset: float) -> wsclient.OnMessage:
    def on_message(message: bytes, now: float) -> None:
        wall = now + offset  # perf_counter -> wall clock
        page.frames += 1
        tally.frames += 1
        page.last_frame = tally.last_frame = now
        if STATUS in message[:60]:
            agent = wsclient.agent_id(message)
            assert agent is not None, message
            page.status[agent] += 1
            tally.latencies.append(wall - at_of(message))
        elif any(news in message[:60] for news in THREAD_NEWS):
            tally.thread_latencies.append(wall - at_of(message))
        elif PRESENCE in message[:60]:
            changes = json.loads(message)["data"]["changes"]
            page.presence_frames += 1
            page.presence_changes += len(changes)
            page.presence_gap = min(page.presence_gap, now - page.presence_last)
            page.presence_last = now
            tally.staleness.append(wall - at_of(message))
        elif b"stream.ready" in message:
            page.ready.set()

    return on_message


async def open_pages(port: int, pages: list[Page], subscribed: bool, tally: Tally) -> None:
    offset = time.time() - time.perf_counter()
    gate = asyncio.Semaphore(64)

    async def one(page: Page) -> None:
        url = f"ws://127.0.0.1:{port}/api/v1/events?token={page.who.token}"
        if subscribed:
            asked = {"presence": "all"} if page.picker else {"teams": [page.who.team], "queue": True}
            url += f"&subscribe={quote(json.dumps(asked))}"
        async with gate:
            page.socket = await wsclient.connect(url, receiver(page, tally, offset))
            await asyncio.wait_for(page.ready.wait(), 60)

    await asyncio.gather(*(one(page) for page in pages))


async def close_pages(pages: list[Page]) -> None:
    sockets = [p.socket for p in pages if p.socket is not None]
    for socket in sockets:
        socket.close()
    if sockets:
        await asyncio.wait([s.closed for s in sockets], timeout=10)


async def settle(tally: Tally, quiet: float, limit: float) -> None:
    """Until no frame came for `quiet` seconds (or `limit` passed)."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        before = tally.frames
        await asyncio.sleep(quiet)
        if tally.frames == before:
            return


# -- a phase ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Load:
    """The requests of the phases, decided as each one leaves: each agent's flips alternate
    its state; thread requests alternate between opening one and closing the oldest open one
    (by its holder, or by a supervisor while it waits in the queue: W6) once `close_lag`
    more have been opened after it, about a second's worth."""

    admin: str  # opens the threads, as an integration would
    supervisor: Person  # closes threads still in the queue
    flips: list[Person]
    thread_share: float
    close_lag: int
    flipped: int = 0
    turns: int = 0  # thread requests so far
    opened: int = 0
    open_threads: deque[tuple[int, int | None]] = field(default_factory=deque)  # (id, holder), oldest first
    tokens: dict[int, str] = field(default_factory=dict)  # agent id -> token
    changed: list[Person] = field(default_factory=list)  # whose status the phase's flips changed
    opening: set[int] = field(default_factory=set)  # requests that open a thread
    closing: set[int] = field(default_factory=set)  # requests that close one
    closes: int = 0  # closes answered 200 in this phase (status changes are answered 200 too)

    def __post_init__(self) -> None:
        self.tokens = {who.id: who.token for who in self.flips}

    def new_phase(self) -> None:
        self.changed, self.closes = [], 0
        self.opening.clear()
        self.closing.clear()

    def request(self, i: int) -> loadgen.Request:
        thread_turn = int((i + 1) * self.thread_share) > int(i * self.thread_share)
        if thread_turn:
            self.turns += 1
            if self.turns % 2 == 0 and len(self.open_threads) > self.close_lag:
                thread_id, holder = self.open_threads.popleft()
                token = self.tokens[holder] if holder is not None else self.supervisor.token
                self.closing.add(i)
                return ("POST", f"/api/v1/threads/{thread_id}/close", {"Authorization": f"Bearer {token}"}, None)
            self.opened += 1
            self.opening.add(i)
            body = {"client_id": f"client{self.opened}", "text": "hello"}
            return ("POST", "/api/v1/threads", {"Authorization": f"Bearer {self.admin}"}, body)
        who = self.flips[self.flipped % len(self.flips)]
        state = ("active", "not_ready")[(self.flipped // len(self.flips)) % 2]
        self.flipped += 1
        self.changed.append(who)
        return ("PUT", "/api/v1/me/status", {"Authorization": f"Bearer {who.token}"}, {"state": state})

    def answered(self, i: int, status: int, body: bytes) -> None:
        if i in self.closing:
            self.closing.discard(i)
            self.closes += status == 200
        elif i in self.opening:
            self.opening.discard(i)
            if status == 201:
                thread = json.loads(body)
                self.open_threads.append((thread["id"], thread["agent_id"]))


@dataclass(slots=True)
class Figures:
    mode: str
    seconds: float
    changes: int  # status changes answered 200
    thread_changes: int  # threads opened (201) and closed (200)
    frames_per_s: float
    expected: int  # status changes the supervisors' pages should have had
    missing: int
    cut_off: int  # pages the server closed (too slow)
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cores: float
    server_idle_cores: float  # the same pages open, nothing changing
    server_us_per_frame: float
    client_cores: float
    machine_busy: float
    answer_p50_ms: float = 0.0  # the request's answer (after its commit), from its scheduled moment
    answer_p99_ms: float = 0.0
    presence_per_page_s: float = 0.0
    changes_per_presence_frame: float = 0.0
    presence_p99_ms: float = 0.0
    presence_gap_ms: float = 0.0  # the shortest time between two presence frames on one page
    thread_p50_ms: float = 0.0  # thread.assigned and thread.closed: `at` -> read
    thread_p99_ms: float = 0.0


async def phase(
    mode: str, port: int, server_pid: int, supervisors: list[Person], pickers: list[Person],
    load: Load, args: argparse.Namespace,
) -> Figures:  # fmt: skip
    subscribed = mode == "subscribed"
    tally = Tally()
    pages = [] if mode == "no pages" else [Page(s, False) for s in supervisors] + [Page(a, True) for a in pickers]
    started = time.perf_counter()
    await open_pages(port, pages, subscribed, tally)
    print(f"  {mode}: {len(pages):,} pages open in {time.perf_counter() - started:.1f} s", flush=True)
    await settle(tally, 1.0, 30)
    quiet_before, quiet_start = cpu_seconds(server_pid), time.perf_counter()
    await asyncio.sleep(args.quiet)
    idle_cores = (cpu_seconds(server_pid) - quiet_before) / (time.perf_counter() - quiet_start)
    for page in pages:
        page.frames, page.presence_frames, page.presence_changes = 0, 0, 0
        page.status.clear()
    tally.latencies.clear()
    tally.thread_latencies.clear()
    tally.staleness.clear()
    tally.frames = 0
    load.new_phase()

    server_before, client_before, machine_before = cpu_seconds(server_pid), time.process_time(), machine_ticks()
    start = time.perf_counter()
    result = await loadgen.run_rate(
        "127.0.0.1",
        port,
        load.request,
        rate=args.rate,
        seconds=args.seconds,
        connections=args.connections,
        on_answer=load.answered,
    )
    changed = load.changed
    await settle(tally, 1.5, 60)  # a coalesced frame may wait a second
    end = max(tally.last_frame, start + result.seconds)
    server = cpu_seconds(server_pid) - server_before
    client = time.process_time() - client_before
    machine_after = machine_ticks()
    busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
    seconds = end - start
    expected, missing = deliveries(pages, changed, {who.id: who.team for who in load.flips}, subscribed)
    cut_off = sum(1 for p in pages if p.socket is not None and p.socket.closed.done())
    frames = sum(p.frames for p in pages)
    pickers_pages = [p for p in pages if p.picker]
    figures = Figures(
        mode=mode,
        seconds=seconds,
        changes=result.statuses.get(200, 0) - load.closes,
        thread_changes=result.statuses.get(201, 0) + load.closes,
        frames_per_s=frames / seconds,
        expected=expected,
        missing=missing,
        cut_off=cut_off,
        p50_ms=percentile(tally.latencies, 0.5) * 1e3,
        p99_ms=percentile(tally.latencies, 0.99) * 1e3,
        max_ms=max(tally.latencies, default=float("nan")) * 1e3,
        server_cores=server / seconds,
        server_idle_cores=idle_cores,
        server_us_per_frame=server / max(1, frames) * 1e6,
        client_cores=client / seconds,
        machine_busy=busy,
        answer_p50_ms=result.percentile(0.5) * 1e3,
        answer_p99_ms=result.percentile(0.99) * 1e3,
        thread_p50_ms=percentile(tally.thread_latencies, 0.5) * 1e3,
        thread_p99_ms=percentile(tally.thread_latencies, 0.99) * 1e3,
    )
    if subscribed and pickers_pages:
        presence = sum(p.presence_frames for p in pickers_pages)
        figures.presence_per_page_s = presence / len(pickers_pages) / seconds
        figures.changes_per_presence_frame = sum(p.presence_changes for p in pickers_pages) / max(1, presence)
        figures.presence_p99_ms = percentile(tally.staleness, 0.99) * 1e3
        figures.presence_gap_ms = min(p.presence_gap for p in pickers_pages) * 1e3
    if set(result.statuses) - {200, 201}:
        print(f"  answers other than 200: {result.statuses}")
    await close_pages(pages)
    show(figures, len(pages) - len(pickers_pages), len(pickers_pages))
    return figures


def deliveries(pages: list[Page], changed: list[Person], team_of: dict[int, str], subscribed: bool) -> tuple[int, int]:
    """The status changes the supervisors' pages should have had, and how many they did not,
    agent by agent (a change the system made besides, such as the end of an agent's
    finishing when their last thread closed, does not make up for one missed); says so if a
    subscribed page had another team's (which must never be)."""
    flips: Counter[int] = Counter(who.id for who in changed)
    expected = missing = foreign = 0
    for page in pages:
        if page.picker:
            continue
        for agent, wanted in flips.items():
            if subscribed and team_of[agent] != page.who.team:
                continue
            expected += wanted
            missing += max(0, wanted - page.status[agent])
        if subscribed:
            foreign += sum(n for agent, n in page.status.items() if team_of.get(agent) != page.who.team)
    if foreign:
        print(f"  {foreign} status changes of other teams reached pages subscribed to their own")
    return expected, missing


def show(f: Figures, pages: int, pickers: int) -> None:
    print(
        f"  {f.mode:>12}: {f.changes:,} status changes and {f.thread_changes:,} threads opened or closed "
        f"in {f.seconds:.1f} s; "
        f"{f.frames_per_s:,.0f} frames/s to {pages:,} supervisors' pages and {pickers} pickers; "
        f"status delivery p50 {f.p50_ms:.1f} ms, p99 {f.p99_ms:.1f} ms, max {f.max_ms:.1f} ms; "
        f"missing {f.missing:,} of {f.expected:,}; cut off {f.cut_off}; "
        f"threads' delivery p50 {f.thread_p50_ms:.1f} ms, p99 {f.thread_p99_ms:.1f} ms\n"
        f"  {'':>12}  answers p50 {f.answer_p50_ms:.1f} ms, p99 {f.answer_p99_ms:.1f} ms; "
        f"server {f.server_cores:.2f} core ({f.server_us_per_frame:.1f} µs/frame; "
        f"{f.server_idle_cores:.2f} core with the pages open and nothing changing), "
        f"this client {f.client_cores:.2f} core, machine {f.machine_busy:.0%} busy",
        flush=True,
    )
    if f.presence_per_page_s:
        print(
            f"  {'':>12}  pickers: {f.presence_per_page_s:.2f} presence.changed frames/s a page, "
            f"{f.changes_per_presence_frame:.1f} changes a frame, shortest gap between two on a page "
            f"{f.presence_gap_ms:.0f} ms, `at` -> read p99 {f.presence_p99_ms:.0f} ms",
            flush=True,
        )


# -- the run ------------------------------------------------------------------------------------


async def measure(
    args: argparse.Namespace, port: int, server_pid: int, admin: str, agents: list[Person], sups: list[Person]
) -> None:
    started = time.perf_counter()
    await log_in(port, [a.token for a in agents])
    print(f"  {len(agents):,} agents logged in in {time.perf_counter() - started:.1f} s", flush=True)
    rng = random.Random(1)
    pickers = agents[-args.pickers :] if args.pickers else []
    flips = agents[: len(agents) - args.pickers]
    rng.shuffle(flips)
    results: dict[str, list[Figures]] = {mode: [] for mode in args.modes}
    lag = max(1, round(args.rate * args.thread_share / 2))  # a second's opens
    load = Load(admin, sups[0], flips, args.thread_share, close_lag=lag)
    for r in range(args.rounds):
        for mode in args.modes[:: 1 if r % 2 == 0 else -1]:
            results[mode].append(await phase(mode, port, server_pid, sups, pickers, load, args))
    print(
        f"{args.pages:,} supervisors' pages ({args.pages // args.teams} per team of "
        f"{args.agents // args.teams}), {args.pickers} agents' pages with the picker open, "
        f"{args.agents:,} agents; {args.rate:g} row changes/s ({args.thread_share:.0%} threads) for "
        f"{args.seconds:g} s; "
        f"{os.cpu_count()} cores; medians of {args.rounds} round(s)"
    )
    for mode, figures in results.items():
        rate = statistics.median(f.frames_per_s for f in figures)
        p99 = statistics.median(f.p99_ms for f in figures)
        p50 = statistics.median(f.p50_ms for f in figures)
        thread_p99 = statistics.median(f.thread_p99_ms for f in figures)
        cores = statistics.median(f.server_cores for f in figures)
        print(
            f"  {mode:>12}: {rate:,.0f} frames/s; delivery p99 {p99:.1f} ms (p50 {p50:.1f}), threads' "
            f"{thread_p99:.1f} ms; server {cores:.2f} "
            f"core; missing {sum(f.missing for f in figures):,} of {sum(f.expected for f in figures):,}; "
            f"cut off {sum(f.cut_off for f in figures)}"
        )
    print("  target: delivery p99 <= 100 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=15_000)
    parser.add_argument("--teams", type=int, default=1_000)
    parser.add_argument("--pages", type=int, default=2_000, help="supervisors' pages, one supervisor each")
    parser.add_argument("--pickers", type=int, default=20, help="agents' pages with the transfer picker open")
    parser.add_argument("--rate", type=float, default=40, help="row changes a second")
    parser.add_argument(
        "--thread-share", type=float, default=0.5, help="of the changes, threads opened and closed (0 to 1)"
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections sending the changes")
    parser.add_argument("--rounds", type=int, default=1, help="the modes' order alternates from round to round")
    parser.add_argument(
        "--modes",
        type=lambda text: text.split(","),
        default=["subscribed", "unsubscribed", "no pages"],
        help="which phases (default: subscribed,unsubscribed,no pages: the same changes with no page open, "
        "the floor the others add to)",
    )
    parser.add_argument("--quiet", type=float, default=5, help="seconds the server's idle CPU is measured")
    parser.add_argument("--quick", action="store_true", help="1,500 agents in 100 teams, 200 pages, 10 s")
    args = parser.parse_args()
    if args.quick:
        args.agents, args.teams, args.pages, args.pickers, args.seconds = 1_500, 100, 200, 5, 10
    raise_fd_limit(args.pages + args.pickers + 512)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = f"sqlite:///{workdir / 'bench.db'}"
        started = time.perf_counter()
        admin = add_admin(database, workdir)  # `onduty users add`: the schema, as an operator makes it
        agents, supervisors = fill(database, args.agents, args.teams, args.pages)
        print(f"  floor written in {time.perf_counter() - started:.1f} s", flush=True)
        port = free_port()
        server = start_server(database, port, workdir)
        print(f"  pids: onduty serve {server.pid}, this client {os.getpid()}", flush=True)
        try:
            uvloop.run(measure(args, port, server.pid, admin, agents, supervisors))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
