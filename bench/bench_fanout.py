"""One status change fanned out to many WebSocket dashboards (docs/performance.md, fan-out).

Starts a real `onduty serve` on a fresh SQLite file and, beside it, a bare
broadcast server written here with the `websockets` library (the floor: a set
of connections and `websockets.broadcast`, nothing else). Creates an admin
(`onduty users add`), then supervisors and agents of one team through the API;
opens `--clients` WebSocket connections to each server from this process
(`wsclient.py`, a lean client that reads a frame where it lands, so that the
delays measure the servers rather than the client; over loopback, offering
permessage-deflate as browsers do) as supervisors of that team. Then, in rounds that alternate
between the two servers (so that other work on the machine weighs on both
alike):

- *steady*: every `--interval` seconds one agent changes status
  (`PUT /api/v1/me/status` on a keep-alive connection; for the bare server a
  trigger message on a WebSocket of its own, answered before it broadcasts,
  as onduty answers before it publishes). For each change and each
  dashboard: the delay from the request being sent to the dashboard
  receiving the `agent.status_changed` event. Also shown: the answer's
  latency (onduty's includes the durable commit).
- *burst*: `--agents` agents change status back to back, `--burst` changes in
  all; delivered messages per second: every frame the dashboards received,
  from the first request to the last frame; and the CPU time the server and
  this client spent per delivered message.

The bare server broadcasts, per change, one ~300-byte JSON message shaped like
onduty's `agent.status_changed`. onduty sends one event per change of status
alone: `agent.status_changed`, carrying the widget row's new status (see
docs/rules.md, W4); every frame counts as a delivered message.

Run: .venv/bin/python bench/bench_fanout.py [--quick] [--clients 2000] [--rounds 3] [--no-deflate]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve

import loadgen
import wsclient
from bench_api import add_admin, free_port, start_server

TEAM = "t0"
STATUS_CHANGED = b'"agent.status_changed"'
Trigger = Callable[[int], Awaitable[None]]  # agent index -> returns once the change is acknowledged


# -- the floor: a bare broadcast server ----------------------------------------------------


def bare_message(seq: int, agent: int) -> str:
    """Shaped and sized like onduty's `agent.status_changed` (~300 bytes)."""
    states = ("active", "not_ready")
    return json.dumps(
        {
            "id": seq,
            "name": "agent.status_changed",
            "at": "2025-01-01T12:00:00.000000+00:00",
            "data": {
                "agent_id": agent,
                "from_state": states[(seq + 1) % 2],
                "from_reason": None,
                "to_state": states[seq % 2],
                "to_reason": None,
                "by": {"kind": "agent", "id": agent, "why": None},
                "team": TEAM,
                "since": "2025-01-01T12:00:00.000000+00:00",
            },
        }
    )


async def bare_server(port: int) -> None:
    clients: set[ServerConnection] = set()
    seq = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        if ws.request is not None and ws.request.path == "/trigger":
            async for raw in ws:
                seq += 1
                await ws.send("ok")  # answered first, as onduty answers before it publishes
                broadcast(clients, bare_message(seq, int(raw)))
            return
        clients.add(ws)
        try:
            await ws.send(json.dumps({"id": None, "name": "stream.ready", "at": "", "data": {}}))
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, ping_interval=20, ping_timeout=20, backlog=4096):
        print("ready", flush=True)
        await asyncio.Future()


def start_bare(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / "bare.log").open("wb")
    command = [sys.executable, __file__, "--bare-server", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        process.kill()
        raise SystemExit(f"bare server did not start; see {workdir / 'bare.log'}")
    return process


# -- dashboards ----------------------------------------------------------------------------


@dataclass(slots=True)
class Dashboard:
    arrivals: dict[int, list[float]] = field(default_factory=dict)  # agent id -> receipt times
    frames: int = 0
    last_frame: float = 0.0
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # the backlog is over ("stream.ready")


@dataclass(slots=True)
class Fleet:
    """The dashboards of one server, and what they received."""

    name: str
    boards: list[Dashboard]
    sockets: list[wsclient.Dashboard]
    sizes: dict[str, int] = field(default_factory=dict)  # bytes of one frame of each kind seen
    expected: int = 0  # status_changed deliveries still awaited in this phase
    received: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self, expected: int) -> None:
        for board in self.boards:
            board.arrivals.clear()
            board.frames = 0
            board.last_frame = 0.0
        self.expected, self.received = expected, 0
        self.done = asyncio.Event()

    @property
    def frames(self) -> int:
        return sum(b.frames for b in self.boards)

    async def close(self) -> None:
        for socket in self.sockets:
            socket.close()
        await asyncio.wait([s.closed for s in self.sockets], timeout=5)


def receiver(fleet: Fleet, board: Dashboard) -> wsclient.OnMessage:
    """What a dashboard does with each message: note when it came, and from which agent."""

    def on_message(message: bytes, now: float) -> None:
        board.frames += 1
        board.last_frame = now
        if STATUS_CHANGED in message:
            fleet.sizes["agent.status_changed"] = len(message)
            agent = wsclient.agent_id(message)
            assert agent is not None, message
            board.arrivals.setdefault(agent, []).append(now)
            fleet.received += 1
            if fleet.received >= fleet.expected:
                fleet.done.set()
        elif b"stream.ready" in message:  # the backlog, then "ready"
            board.ready.set()

    return on_message


async def open_fleet(name: str, urls: list[str], *, deflate: bool) -> Fleet:
    fleet = Fleet(name, [], [])
    gate = asyncio.Semaphore(64)

    async def one(url: str) -> None:
        board = Dashboard()
        async with gate:
            socket = await wsclient.connect(url, receiver(fleet, board), deflate=deflate)
            await asyncio.wait_for(board.ready.wait(), 60)
        fleet.boards.append(board)
        fleet.sockets.append(socket)

    await asyncio.gather(*(one(url) for url in urls))
    return fleet


# -- measurements --------------------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    p50_ms: float
    p99_ms: float
    max_ms: float
    deliveries: int
    missing: int
    ack_p50_ms: float = 0.0  # request sent -> answer received (onduty: the commit is in there)
    ack_p99_ms: float = 0.0
    after_ack_p99_ms: float = 0.0  # answer received -> delivered: the fan-out's own part
    messages_per_s: float = 0.0
    changes_per_s: float = 0.0
    burst_seconds: float = 0.0
    server_us_per_msg: float = 0.0  # server CPU time per delivered message
    client_us_per_msg: float = 0.0  # this process's CPU time per delivered message


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def delays(fleet: Fleet, sent: dict[int, list[float]]) -> tuple[list[float], int]:
    """For each dashboard and change: receipt time minus `sent` time; and how many never came."""
    out: list[float] = []
    missing = 0
    for board in fleet.boards:
        for agent, times in sent.items():
            got = board.arrivals.get(agent, [])
            missing += max(0, len(times) - len(got))
            out.extend(g - s for g, s in zip(got, times, strict=False))
    return out, missing


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


async def settle(fleet: Fleet, quiet: float = 0.3) -> None:
    """Until no frame arrived for `quiet` seconds."""
    while True:
        before = fleet.frames
        await asyncio.sleep(quiet)
        if fleet.frames == before:
            return


async def steady(fleet: Fleet, trigger: Trigger, agent_ids: list[int], changes: int, interval: float) -> Figures:
    await settle(fleet)
    fleet.reset(changes * len(fleet.boards))
    sent: dict[int, list[float]] = {agent_ids[0]: []}
    acked: dict[int, list[float]] = {agent_ids[0]: []}
    start = time.perf_counter()
    for k in range(changes):
        await asyncio.sleep(max(0.0, start + k * interval - time.perf_counter()))
        sent[agent_ids[0]].append(time.perf_counter())
        await trigger(0)
        acked[agent_ids[0]].append(time.perf_counter())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fleet.done.wait(), 30)
    got, missing = delays(fleet, sent)
    after_ack, _ = delays(fleet, acked)
    acks = [a - s for a, s in zip(acked[agent_ids[0]], sent[agent_ids[0]], strict=True)]
    return Figures(
        percentile(got, 0.5) * 1e3,
        percentile(got, 0.99) * 1e3,
        max(got) * 1e3,
        len(got),
        missing,
        ack_p50_ms=percentile(acks, 0.5) * 1e3,
        ack_p99_ms=percentile(acks, 0.99) * 1e3,
        after_ack_p99_ms=percentile(after_ack, 0.99) * 1e3,
    )


async def burst(fleet: Fleet, trigger: Trigger, agent_ids: list[int], changes: int, server_pid: int) -> Figures:
    await settle(fleet)
    per_agent = changes // len(agent_ids)
    fleet.reset(per_agent * len(agent_ids) * len(fleet.boards))
    sent: dict[int, list[float]] = {a: [] for a in agent_ids}

    async def one(index: int) -> None:
        for _ in range(per_agent):
            sent[agent_ids[index]].append(time.perf_counter())
            await trigger(index)

    server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(len(agent_ids))))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fleet.done.wait(), 60)
    await settle(fleet)  # any frame still on its way
    server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu, time.process_time() - client_cpu
    end = max(b.last_frame for b in fleet.boards)
    frames = fleet.frames
    got, missing = delays(fleet, sent)
    seconds = end - start
    return Figures(
        percentile(got, 0.5) * 1e3,
        percentile(got, 0.99) * 1e3,
        max(got) * 1e3,
        len(got),
        missing,
        messages_per_s=frames / seconds,
        changes_per_s=len(got) / seconds,
        burst_seconds=seconds,
        server_us_per_msg=server_cpu / frames * 1e6,
        client_us_per_msg=client_cpu / frames * 1e6,
    )


# -- onduty --------------------------------------------------------------------------------


@dataclass(slots=True)
class Onduty:
    base: str
    admin: str
    supervisors: list[str] = field(default_factory=list)
    agents: list[tuple[int, str]] = field(default_factory=list)  # (id, token)
    states: list[str] = field(default_factory=list)
    conns: list[loadgen.Connection] = field(default_factory=list)

    async def prepare(self, supervisors: int, agents: int) -> None:
        headers = {"Authorization": f"Bearer {self.admin}"}
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as client:

            async def user(name: str, role: str) -> dict[str, Any]:
                # One at a time: users are written outside the service's single writer.
                created = await client.post(
                    "/api/v1/users", json={"username": name, "role": role, "team": TEAM}, headers=headers
                )
                created.raise_for_status()
                body: dict[str, Any] = created.json()
                return body

            self.supervisors = [(await user(f"sup{i}", "supervisor"))["token"] for i in range(supervisors)]
            for i in range(agents):
                body = await user(f"agent{i}", "agent")
                token = body["token"]
                auth = {"Authorization": f"Bearer {token}"}
                (await client.post("/api/v1/me/login", headers=auth)).raise_for_status()
                me = (await client.get("/api/v1/me", headers=auth)).json()
                self.agents.append((me["id"], token))
                self.states.append(me["status"]["state"])

    async def reconnect(self) -> None:
        """Fresh keep-alive connections before each phase (uvicorn closes idle ones after 5 s)."""
        for conn in self.conns:
            conn.close()
        host, port = self.base.removeprefix("http://").split(":")
        self.conns = [await loadgen.Connection.open(host, int(port)) for _ in self.agents]

    async def trigger(self, index: int) -> None:
        state = "active" if self.states[index] != "active" else "not_ready"
        _, token = self.agents[index]
        status, body = await self.conns[index].request(
            "PUT", "/api/v1/me/status", {"Authorization": f"Bearer {token}"}, {"state": state}
        )
        if status != 200:
            raise SystemExit(f"PUT /me/status answered {status}: {body[:300]!r}")
        self.states[index] = state


class Bare:
    def __init__(self, port: int, agents: int) -> None:
        self.port, self.count = port, agents
        self.conns: list[ClientConnection] = []

    async def prepare(self) -> None:
        self.conns = [await connect(f"ws://127.0.0.1:{self.port}/trigger") for _ in range(self.count)]

    async def reconnect(self) -> None:
        pass

    async def trigger(self, index: int) -> None:
        await self.conns[index].send(str(index))
        await self.conns[index].recv()


# -- the run -------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        raise SystemExit(f"need {needed} file descriptors, the limit is {soft}")


async def measure(args: argparse.Namespace, admin_token: str, ports: dict[str, int], pids: dict[str, int]) -> None:
    base = f"http://127.0.0.1:{ports['onduty']}"
    onduty = Onduty(base, admin_token)
    started = time.perf_counter()
    await onduty.prepare(args.supervisors, args.agents)
    bare = Bare(ports["bare"], args.agents)
    await bare.prepare()
    tokens = onduty.supervisors
    urls = {
        "onduty": [
            f"ws://127.0.0.1:{ports['onduty']}/api/v1/events?token={tokens[i % len(tokens)]}"
            for i in range(args.clients)
        ],
        "bare": [f"ws://127.0.0.1:{ports['bare']}/"] * args.clients,
    }
    fleets = {name: await open_fleet(name, urls[name], deflate=not args.no_deflate) for name in ("onduty", "bare")}
    extensions = {n: f.sockets[0].extensions or "none" for n, f in fleets.items()}
    print(f"  set-up: {time.perf_counter() - started:.1f} s; negotiated extensions: {extensions}", flush=True)
    triggers: dict[str, Trigger] = {"onduty": onduty.trigger, "bare": bare.trigger}
    reconnect = {"onduty": onduty.reconnect, "bare": bare.reconnect}
    ids = {"onduty": [a for a, _ in onduty.agents], "bare": list(range(args.agents))}
    results: dict[str, list[tuple[Figures, Figures]]] = {"onduty": [], "bare": []}
    for r in range(args.rounds):
        for name in ("onduty", "bare") if r % 2 == 0 else ("bare", "onduty"):
            fleet = fleets[name]
            await reconnect[name]()
            s = await steady(fleet, triggers[name], ids[name], args.changes, args.interval)
            await reconnect[name]()
            b = await burst(fleet, triggers[name], ids[name], args.burst, pids[name])
            results[name].append((s, b))
            print(
                f"  round {r + 1} {name:>6} steady: delivery p50 {s.p50_ms:5.1f} ms, p99 {s.p99_ms:6.1f} ms, "
                f"max {s.max_ms:6.1f} ms | answer p50 {s.ack_p50_ms:5.1f} ms, p99 {s.ack_p99_ms:6.1f} ms | "
                f"answer->delivery p99 {s.after_ack_p99_ms:6.1f} ms "
                f"({s.deliveries:,} deliveries, {s.missing} missing)\n"
                f"  round {r + 1} {name:>6}  burst: {b.messages_per_s:7,.0f} msgs/s, {b.changes_per_s:7,.0f} "
                f"status events/s over {b.burst_seconds:.2f} s ({b.missing} missing); CPU per delivered message: "
                f"server {b.server_us_per_msg:.1f} µs, client {b.client_us_per_msg:.1f} µs",
                flush=True,
            )
    for fleet in fleets.values():
        await fleet.close()
    for conn in onduty.conns:
        conn.close()
    for ws in bare.conns:
        await ws.close()
    sizes = {name: fleet.sizes for name, fleet in fleets.items()}
    report(args, results, sizes)


def report(
    args: argparse.Namespace, results: dict[str, list[tuple[Figures, Figures]]], sizes: dict[str, dict[str, int]]
) -> None:
    def each(name: str, pick: Callable[[tuple[Figures, Figures]], float]) -> tuple[float, str]:
        values = [pick(x) for x in results[name]]
        return statistics.median(values), ", ".join(f"{v:,.1f}" if v < 100 else f"{v:,.0f}" for v in values)

    print(
        f"fan-out of one status change to {args.clients:,} WebSocket dashboards, {os.cpu_count()} cores; "
        f"medians of {args.rounds} rounds (steady: {args.changes} changes, one every {args.interval:g} s; "
        f"burst: {args.burst} changes by {args.agents} agents)"
    )
    for name in ("onduty", "bare"):
        p50, p50s = each(name, lambda x: x[0].p50_ms)
        p99, p99s = each(name, lambda x: x[0].p99_ms)
        rate, rates = each(name, lambda x: x[1].messages_per_s)
        events, _ = each(name, lambda x: x[1].changes_per_s)
        cpu, _ = each(name, lambda x: x[1].server_us_per_msg)
        print(
            f"  {name:>6}: delivery p50 {p50:.1f} ms ({p50s}), p99 {p99:.1f} ms ({p99s}); "
            f"burst {rate:,.0f} msgs/s ({rates}), {events:,.0f} status events/s; server CPU {cpu:.1f} µs/msg"
        )
    pairs = list(zip(results["onduty"], results["bare"], strict=True))
    ratios = [o[1].messages_per_s / b[1].messages_per_s for o, b in pairs]
    ratios_ev = [o[1].changes_per_s / b[1].changes_per_s for o, b in pairs]
    ratios_cpu = [b[1].server_us_per_msg / o[1].server_us_per_msg for o, b in pairs]
    print(
        f"  ratio onduty ÷ bare: delivered msgs/s {statistics.median(ratios):.2f} "
        f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); status events/s {statistics.median(ratios_ev):.2f} "
        f"(rounds: {', '.join(f'{x:.2f}' for x in ratios_ev)}); server CPU per message, bare ÷ onduty "
        f"{statistics.median(ratios_cpu):.2f}"
    )
    print(f"  frame sizes (bytes, uncompressed): {sizes}")
    print("  targets: delivery p99 <= 100 ms; delivered msgs/s >= 0.5 x bare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--supervisors", type=int, default=100, help="the clients share these supervisors' tokens")
    parser.add_argument("--agents", type=int, default=8, help="agents changing status in a burst")
    parser.add_argument("--changes", type=int, default=20, help="status changes per steady phase")
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between steady status changes")
    parser.add_argument("--burst", type=int, default=40, help="status changes per burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="dashboards do not offer permessage-deflate (browsers do; by default we do as they do)",
    )
    parser.add_argument("--quick", action="store_true", help="300 clients, 2 rounds of 10 changes, bursts of 16")
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server is not None:
        uvloop.run(bare_server(args.bare_server))
        return
    if args.quick:
        args.clients, args.supervisors, args.changes, args.burst, args.rounds = 300, 20, 10, 16, 2
    raise_fd_limit(2 * args.clients + 256)

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = f"sqlite:///{workdir / 'bench.db'}"
        admin_token = add_admin(database, workdir)
        port, bare_port = free_port(), free_port()
        server = start_server(database, port, workdir)
        bare = start_bare(bare_port, workdir)
        print(f"  pids: onduty serve {server.pid}, bare server {bare.pid}, this client {os.getpid()}", flush=True)
        try:
            pids = {"onduty": server.pid, "bare": bare.pid}
            uvloop.run(measure(args, admin_token, {"onduty": port, "bare": bare_port}, pids))
        finally:
            for process in (server, bare):
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
