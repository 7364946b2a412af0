"""Status changes through the HTTP API: requests per second and latency (docs/performance.md).

Starts a real `onduty serve` on a fresh database (SQLite by default) whose
agents were written into it beforehand, logs them in through the API, then,
from this separate process over loopback, has every agent flip between
`active` and `not_ready` as fast as the server answers, with a fixed number
of requests in flight (64, then 256). Each request is a full durable command:
parsed, applied by the single writer, committed (group commit), acknowledged.

In the same run, the same server's bare no-op JSON endpoint (GET /ping: no
database, no token) under the same load is the floor the status change is
compared with. With --rate, the load is open-loop instead: status changes
leave at that rate whatever the answers do, and latency counts from each
request's scheduled moment (the target: 15,000 agents, 1,000 changes/s, p99 <= 50 ms).

Run: .venv/bin/python bench/bench_api.py [--agents 200] [--concurrency 64,256] [--seconds 10]
                                         [--database postgresql://…]
     .venv/bin/python bench/bench_api.py --agents 15000 --rate 1000 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select

import loadgen
from bulk import insert_rows
from onduty.service.auth import new_token, token_hash
from onduty.storage import schema as t
from onduty.storage.database import create_engine, resolve
from onduty.usernames import skeleton


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(database: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "onduty", "serve", "--port", str(port), "--database", database],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server did not start; see {workdir / 'serve.log'}")


def add_admin(database: str, workdir: Path) -> str:
    """An admin made with `onduty users add`, as an operator would; returns their token."""
    added = subprocess.run(
        [sys.executable, "-m", "onduty", "users", "add", "root", "--role", "admin", "--database", database],
        capture_output=True,
        text=True,
        check=True,
        cwd=workdir,
    )
    token: str = json.loads(added.stdout)["token"]
    return token


def status_flips(tokens: list[str]) -> Callable[[int], loadgen.Request]:
    """Request i: agent i mod n goes active, then not_ready on its next turn, and so on."""
    states = ("active", "not_ready")

    def make(i: int) -> loadgen.Request:
        token = tokens[i % len(tokens)]
        state = states[(i // len(tokens)) % 2]
        return ("PUT", "/api/v1/me/status", {"Authorization": f"Bearer {token}"}, {"state": state})

    return make


def add_agents(database: str, agents: int, teams: int = 10) -> list[str]:
    """`agents` agents with a token each, written straight into the users and tokens tables
    before the server starts (through the API, 32 at a time, 15,000 agents took two minutes
    of the bench's set-up); returns their tokens. `onduty users add` would also register
    each with the engine; here the server's engine does that at their first request
    (`Service.ensure_agent`), so logging in costs them one more durable command."""

    async def fill() -> list[str]:
        engine = create_engine(resolve(database), writes=True)
        now = time.time()
        tokens = [new_token() for _ in range(agents)]
        try:
            async with engine.begin() as conn:
                await insert_rows(conn, t.teams, [{"name": f"t{k}", "created_at": now} for k in range(teams)])
                users = [
                    {"username": f"agent{i}", "username_skeleton": skeleton(f"agent{i}"), "name": f"Agent {i}",
                     "role": "agent", "team": f"t{i % teams}",
                     "password_hash": None, "active": True, "created_at": now}
                    for i in range(agents)
                ]  # fmt: skip
                await insert_rows(conn, t.users, users)
                ids = dict((await conn.execute(select(t.users.c.username, t.users.c.id))).all())
                await insert_rows(
                    conn,
                    t.tokens,
                    [
                        {"token_hash": token_hash(token), "user_id": ids[f"agent{i}"], "created_at": now}
                        for i, token in enumerate(tokens)
                    ],
                )
        finally:
            await engine.dispose()
        return tokens

    return asyncio.run(fill())


async def log_in(port: int, tokens: list[str], workers: int = 64) -> None:
    """Every agent logs in through the API (S5), `workers` requests at a time."""
    todo = iter(tokens)

    async def worker(conn: loadgen.Connection) -> None:
        for token in todo:
            status, answer = await conn.request("POST", "/api/v1/me/login", {"Authorization": f"Bearer {token}"})
            assert status == 200, answer

    pool = [await loadgen.Connection.open("127.0.0.1", port) for _ in range(workers)]
    await asyncio.gather(*(worker(conn) for conn in pool))
    for conn in pool:
        conn.close()


def noop(_: int) -> loadgen.Request:
    return ("GET", "/ping", {}, None)


def closed_loop(port: int, tokens: list[str], args: argparse.Namespace, database: str) -> None:
    """Rounds of the no-op endpoint and of status changes, taking turns under the same load,
    at each number of requests in flight. A status change is answered only once its batch
    is committed (fsync included): with few requests in flight its rate is bounded by that
    wait (Little's law: in flight ÷ latency), not by the server's CPU, while the no-op is
    CPU-bound at any load. The target is read at the last load given (256 by default), where
    both are bound by the server's CPU: the two endpoints' capacities, each round's pair
    measured back to back; the lower loads are shown beside it."""
    kind = "PostgreSQL" if database.startswith("postgres") else "SQLite"
    print(f"status changes over HTTP, {kind}, {args.agents} agents, {os.cpu_count()} cores")
    ratio = float("nan")
    for concurrency in args.concurrency:
        changes: list[loadgen.Result] = []
        pings: list[loadgen.Result] = []
        for _ in range(args.rounds):
            for results, make in ((pings, noop), (changes, status_flips(tokens))):
                result = asyncio.run(
                    loadgen.run("127.0.0.1", port, make, connections=concurrency, seconds=args.seconds)
                )
                if set(result.statuses) != {200}:
                    print(f"  answers other than 200: {result.statuses}")
                results.append(result)
        rate = statistics.median(r.rate for r in changes)
        floor = statistics.median(r.rate for r in pings)
        pairs = [c.rate / p.rate for c, p in zip(changes, pings, strict=True)]
        ratio = statistics.median(pairs)
        print(f"  {concurrency} in flight:")
        print(f"    status changes: {', '.join(f'{r.rate:,.0f}' for r in changes)} requests/s; median {rate:,.0f}")
        print(
            f"    latency p50 {statistics.median(r.percentile(0.5) for r in changes) * 1000:.1f} ms, "
            f"p99 {statistics.median(r.percentile(0.99) for r in changes) * 1000:.1f} ms (medians over rounds)"
        )
        print(f"    no-op GET /ping: {', '.join(f'{r.rate:,.0f}' for r in pings)} requests/s; median {floor:,.0f}")
        print(f"    ratio status change / no-op: {ratio:.2f} (round by round: {', '.join(f'{x:.2f}' for x in pairs)})")
    print(f"  ratio at {args.concurrency[-1]} in flight: {ratio:.2f} (target: at least 0.5)")


def open_loop(port: int, tokens: list[str], args: argparse.Namespace) -> None:
    result = asyncio.run(
        loadgen.run_rate(
            "127.0.0.1",
            port,
            status_flips(tokens),
            rate=args.rate,
            seconds=args.seconds,
            connections=args.concurrency[0],
        )
    )
    print(f"open loop: {args.agents:,} agents online, {args.rate:,.0f} status changes/s offered for {args.seconds:g} s")
    print(f"  answered {len(result.latencies):,} ({result.rate:,.0f}/s), statuses {result.statuses}")
    print(f"  latency from the scheduled moment: p50 {result.percentile(0.5) * 1000:.1f} ms, "
          f"p99 {result.percentile(0.99) * 1000:.1f} ms, max {max(result.latencies) * 1000:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[64, 256],
        help="requests in flight: one number, or several separated by commas, the target read at the last "
        "(default 64,256; "
        "the open loop takes the first as its connections)",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="repeat the load; medians are reported")
    parser.add_argument("--database", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--rate", type=float, default=0, help="open loop: status changes per second")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = args.database or f"sqlite:///{workdir / 'bench.db'}"
        add_admin(database, workdir)  # `onduty users add`: the schema, as an operator makes it
        tokens = add_agents(database, args.agents)
        port = free_port()
        server = start_server(database, port, workdir)
        base = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            asyncio.run(log_in(port, tokens))
            print(
                f"  set-up: {args.agents:,} agents logged in through the API in {time.perf_counter() - started:.1f} s"
            )
            before = metric_sums(httpx.get(f"{base}/metrics").text)
            if args.rate:
                open_loop(port, tokens, args)
            else:
                closed_loop(port, tokens, args, database)
            after = metric_sums(httpx.get(f"{base}/metrics").text)
        finally:
            server.terminate()
            server.wait(timeout=10)
    # The server's own figures for the load only (the set-up's commits left out).
    delta = {name: after[name] - before.get(name, 0.0) for name in after}
    batches, commands = delta["onduty_batch_commands_count"], delta["onduty_batch_commands_sum"]
    commits, commit_seconds = delta["onduty_commit_seconds_count"], delta["onduty_commit_seconds_sum"]
    print(f"  group commit: {commands / max(batches, 1):.1f} commands per commit on average")
    print(f"  commit: {commits:,.0f} commits, {commit_seconds / max(commits, 1) * 1000:.2f} ms each on average")


def metric_sums(text: str) -> dict[str, float]:
    """The _count and _sum lines of the server's Prometheus histograms."""
    sums: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.endswith(("_count", "_sum")) and not name.startswith("#"):
            sums[name] = float(value)
    return sums


if __name__ == "__main__":
    main()
