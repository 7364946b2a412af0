"""Where a status change's CPU goes: the app called in-process, without HTTP.

The real app (`create_app`, its lifespan, the service, a fresh SQLite file with
fsync) is called as an ASGI application directly by `--concurrency` tasks in
this process, so that neither uvicorn nor the loopback nor a load generator
shares the figure. Prints CPU microseconds per request for:

- `GET /ping` (the no-op the HTTP benchmark compares with),
- `PUT /api/v1/me/status` (a full durable status change, group-committed),

and, with `--profile`, the cProfile of the status changes by cumulative time
(the functions named by the docs' account of where the time goes).

Run: .venv/bin/python bench/profile_status_change.py [--seconds 5] [--profile]
         [--database postgresql://postgres@127.0.0.1:5432/onduty_profile]   (an EMPTY database)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from litestar import Litestar

from onduty.domain import commands as c
from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade
from onduty.web import schemas as s
from onduty.web.app import create_app
from onduty.web.context import AppContext
from onduty.web.routes_admin import create

Message = MutableMapping[str, Any]


def http_scope(method: str, path: str, token: str | None, body: bytes) -> Message:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Litestar, method: str, path: str, token: str | None = None, body: bytes = b"") -> int:
    """One request through the app; returns the status code."""
    delivered = False
    status = 0

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    asgi: Any = app  # the ASGI call, with plain dicts for messages
    await asgi(http_scope(method, path, token, body), receive, send)
    return status


async def agents(ctx: AppContext, count: int) -> list[str]:
    tokens = []
    for i in range(count):
        request = msgspec.convert({"username": f"agent{i}", "role": "agent", "team": f"t{i % 10}"}, s.UserRequest)
        created = await create(ctx, request)
        await ctx.node.execute(c.Login(created.id))
        tokens.append(created.token)
    return tokens


Call = tuple[str, str, str | None, bytes]  # method, path, token, body


async def load(app: Litestar, make: Callable[[int], Call], tasks: int, seconds: float) -> int:
    """`tasks` callers in a closed loop for `seconds`; returns the requests answered."""
    done = 0
    counter = iter(range(10**12))
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            method, path, token, body = make(next(counter))
            status = await call(app, method, path, token, body)
            assert status == 200, status
            done += 1

    await asyncio.gather(*(caller() for _ in range(tasks)))
    return done


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = resolve(args.database or f"sqlite:///{Path(folder) / 'profile.db'}")
        await upgrade(db)
        app = create_app(db, settle_heap=True)  # as `onduty serve` does
        async with app.lifespan():
            ctx: AppContext = app.state.ctx
            tokens = await agents(ctx, args.agents)
            states = (b'{"state": "active"}', b'{"state": "not_ready"}')

            def flip(i: int) -> Call:
                return "PUT", "/api/v1/me/status", tokens[i % len(tokens)], states[(i // len(tokens)) % 2]

            def ping(_: int) -> Call:
                return "GET", "/ping", None, b""

            for name, make in (("GET /ping", ping), ("PUT /api/v1/me/status", flip)):
                await load(app, make, args.concurrency, 1.0)  # warm up
                profiler = cProfile.Profile() if args.profile and make is flip else None
                started = time.process_time()
                if profiler is not None:
                    profiler.enable()
                count = await load(app, make, args.concurrency, args.seconds)
                if profiler is not None:
                    profiler.disable()
                cpu = time.process_time() - started
                print(f"{name}: {count / args.seconds:,.0f} requests/s, {cpu / count * 1e6:.1f} µs of CPU each")
                if profiler is not None:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
            metrics = ctx.node.metrics
            batches = next(iter(metrics.batch_size.collect())).samples
            total = next(x.value for x in batches if x.name.endswith("_sum"))
            count_ = next(x.value for x in batches if x.name.endswith("_count"))
            print(f"group commit: {total / count_:.1f} commands per commit on average")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", action="store_true", help="cProfile the status changes")
    parser.add_argument("--database", default=None, help="an EMPTY database (default: a fresh SQLite file)")
    parser.add_argument("--top", type=int, default=60, help="functions shown by --profile")
    uvloop.run(main(parser.parse_args()))
