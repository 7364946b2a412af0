"""Reads while status changes stream in: what a read costs in latency, and what readers
cost the writers, now that reads see committed state only (docs/performance.md,
"Committed reads and the session's hardening, on the hot path").

The real app (as `profile_status_change.py` runs it: in-process, a fresh SQLite file
with fsync) gets `--writers` agents changing their own status in a closed loop, and
beside them `--readers` callers of `GET /api/v1/me` (an agent's own row) and
`--list-readers` admins reading `GET /api/v1/agents` (every row). Prints the changes
per second and each read's p50 / p99 / max latency.

Run: .venv/bin/python bench/bench_reads_under_writes.py [--agents 1000] [--seconds 5]
Against other code (the same bench, alternating): PYTHONPATH=<other checkout>/src ...
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import msgspec
import uvloop

from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade
from onduty.web import schemas as s
from onduty.web.app import create_app
from onduty.web.context import AppContext
from onduty.web.routes_admin import create
from profile_status_change import agents, call


def quantiles(samples: list[float]) -> str:
    if not samples:
        return "none"
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered):,} reads, p50 {statistics.median(ordered) * 1e3:.1f} ms, "
        f"p99 {p99 * 1e3:.1f} ms, max {ordered[-1] * 1e3:.1f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = resolve(args.database or f"sqlite:///{Path(folder) / 'reads.db'}")
        await upgrade(db)
        app = create_app(db, settle_heap=True)
        async with app.lifespan():
            ctx: AppContext = app.state.ctx
            tokens = await agents(ctx, args.agents)
            admin = await create(ctx, msgspec.convert({"username": "boss", "role": "admin"}, s.UserRequest))
            states = (b'{"state": "active"}', b'{"state": "not_ready"}')
            deadline = time.perf_counter() + args.seconds
            changes = 0
            own_reads: list[float] = []
            list_reads: list[float] = []

            async def writer(token: str) -> None:
                nonlocal changes
                flip = 0
                while time.perf_counter() < deadline:
                    assert await call(app, "PUT", "/api/v1/me/status", token, states[flip]) == 200
                    flip ^= 1
                    changes += 1

            async def reader(path: str, token: str, into: list[float]) -> None:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    assert await call(app, "GET", path, token) == 200
                    into.append(time.perf_counter() - started)
                    await asyncio.sleep(args.pause)

            tasks = [writer(t) for t in tokens[: args.writers]]
            tasks += [reader("/api/v1/me", tokens[-1 - i], own_reads) for i in range(args.readers)]
            tasks += [reader("/api/v1/agents", admin.token, list_reads) for _ in range(args.list_readers)]
            await asyncio.gather(*tasks)
            print(f"status changes: {changes / args.seconds:,.0f}/s by {args.writers} agents")
            print(f"GET /api/v1/me ({args.readers} readers): {quantiles(own_reads)}")
            print(f"GET /api/v1/agents, {args.agents} rows ({args.list_readers} readers): {quantiles(list_reads)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--list-readers", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.01, help="seconds between one reader's reads")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database", default=None, help="an EMPTY database (default: a fresh SQLite file)")
    uvloop.run(main(parser.parse_args()))
