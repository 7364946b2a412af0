"""Status changes through the HTTP API: requests per second and latency (issue 3).

Starts a real `onduty serve` on a fresh database (SQLite by default), creates
agents through the API, then, from this separate process over loopback, has
every agent flip between `active` and `not_ready` as fast as the server
answers, with a fixed number of requests in flight. Each request is a full
durable command: parsed, applied by the single writer, committed (group
commit), acknowledged.

Run: .venv/bin/python bench/bench_api.py [--agents 200] [--concurrency 64] [--seconds 10]
                                         [--database postgresql://…]
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

import loadgen


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


def status_flips(tokens: list[str]) -> Callable[[int], loadgen.Request]:
    """Request i: agent i mod n goes active, then not_ready on its next turn, and so on."""
    states = ("active", "not_ready")

    def make(i: int) -> loadgen.Request:
        token = tokens[i % len(tokens)]
        state = states[(i // len(tokens)) % 2]
        return ("PUT", "/api/v1/me/status", {"Authorization": f"Bearer {token}"}, {"state": state})

    return make


async def prepare(base: str, admin_token: str, agents: int) -> list[str]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    tokens: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(agents):
            created = await client.post(
                "/api/v1/users", json={"username": f"agent{i}", "role": "agent", "team": f"t{i % 10}"}, headers=headers
            )
            created.raise_for_status()
            token = created.json()["token"]
            tokens.append(token)
            (await client.post("/api/v1/me/login", headers={"Authorization": f"Bearer {token}"})).raise_for_status()
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="repeat the load; medians are reported")
    parser.add_argument("--database", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = args.database or f"sqlite:///{workdir / 'bench.db'}"
        env_db = {"--database": database}
        admin = subprocess.run(
            [sys.executable, "-m", "onduty", "users", "add", "root", "--role", "admin", *sum(env_db.items(), ())],
            capture_output=True,
            text=True,
            check=True,
            cwd=workdir,
        )
        admin_token = json.loads(admin.stdout)["token"]
        port = free_port()
        server = start_server(database, port, workdir)
        base = f"http://127.0.0.1:{port}"
        try:
            tokens = asyncio.run(prepare(base, admin_token, args.agents))
            rates, p50s, p99s = [], [], []
            for _ in range(args.rounds):
                result = asyncio.run(
                    loadgen.run(
                        "127.0.0.1", port, status_flips(tokens), connections=args.concurrency, seconds=args.seconds
                    )
                )
                rates.append(int(result.rate))
                p50s.append(result.percentile(0.5) * 1000)
                p99s.append(result.percentile(0.99) * 1000)
                if set(result.statuses) != {200}:
                    print(f"  answers other than 200: {result.statuses}")
            metrics = httpx.get(f"{base}/metrics").text
        finally:
            server.terminate()
            server.wait(timeout=10)
    batches = [line for line in metrics.splitlines() if line.startswith("onduty_batch_commands_")]
    count = next(float(x.split()[-1]) for x in batches if x.startswith("onduty_batch_commands_count"))
    total = next(float(x.split()[-1]) for x in batches if x.startswith("onduty_batch_commands_sum"))
    kind = "PostgreSQL" if database.startswith("postgres") else "SQLite"
    print(f"status changes over HTTP, {kind}, {args.agents} agents, {args.concurrency} in flight, ", end="")
    print(f"{os.cpu_count()} cores")
    print(f"  rounds of {args.seconds:g} s: {', '.join(f'{r:,}' for r in rates)} requests/s")
    print(f"  median {statistics.median(rates):,.0f} requests/s")
    print(f"  latency p50 {statistics.median(p50s):.1f} ms, p99 {statistics.median(p99s):.1f} ms (medians over rounds)")
    print(f"  group commit: {total / count:.1f} commands per commit on average")
    commit_sum = next(float(x.split()[-1]) for x in metrics.splitlines() if x.startswith("onduty_commit_seconds_sum"))
    commit_n = next(float(x.split()[-1]) for x in metrics.splitlines() if x.startswith("onduty_commit_seconds_count"))
    print(f"  commit: {commit_n:,.0f} commits, {commit_sum / commit_n * 1000:.2f} ms each on average")


if __name__ == "__main__":
    main()
