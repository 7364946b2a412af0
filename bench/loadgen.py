"""A small HTTP/1.1 load generator: keep-alive connections, one request in flight each.

Why not httpx: its async connection pool collapses with many connections in
flight (measured here: 76 requests/s against a bare ASGI app with 64
connections, against 689 with one), which would measure the client instead
of the server. The connections are the service's own lean client's
(onduty/service/http_client.py: what a follower sends the owner with).
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from onduty.service import http_client

Request = tuple[str, str, dict[str, str], Any]  # method, path, headers, JSON body or None


@dataclass(slots=True)
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Connection:
    """A keep-alive connection sending JSON bodies (the service's HTTP/1.1 client underneath)."""

    def __init__(self, http: http_client.Connection) -> None:
        self.http = http

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(await http_client.Connection.open(host, port))

    async def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, bytes]:
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        payload = b"" if body is None else json.dumps(body).encode()
        response = await self.http.request(method, path, headers, payload)
        return response.status, response.body

    def close(self) -> None:
        self.http.close()


async def run(
    host: str, port: int, make_request: Callable[[int], Request], *, connections: int, seconds: float
) -> Result:
    """`connections` clients, each sending the next request as soon as the last one is answered."""
    pool = [await Connection.open(host, port) for _ in range(connections)]
    result = Result(seconds)
    end = time.perf_counter() + seconds
    counter = 0

    async def client(conn: Connection) -> None:
        nonlocal counter
        while time.perf_counter() < end:
            counter += 1
            method, path, headers, body = make_request(counter)
            started = time.perf_counter()
            status, _ = await conn.request(method, path, headers, body)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in pool))
    result.seconds = time.perf_counter() - started
    for conn in pool:
        conn.close()
    return result


async def run_rate(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    rate: float,
    seconds: float,
    connections: int,
    on_answer: Callable[[int, int, bytes], None] | None = None,
) -> Result:
    """Open loop: requests leave at a fixed `rate`, whatever the answers do. Latency runs
    from each request's scheduled moment, so a slow server is not hidden by a client that
    waits for it (no coordinated omission).

    The client must not add latency of its own. Only the requests in flight are held: a
    gather over every task of the run, once the last was sent, queued a callback per task
    already done (20,000 of them) ahead of the last answers, whose latency then grew by
    100-150 ms (seen in every run: the server's loop and an idle canary process showed no
    pause then). And what the process holds before the run is frozen out of the garbage
    collector's sight, so a full collection cannot pause the client mid-run. `make_request(i)`
    is asked when request i leaves; `on_answer(i, status, body)`, when given, hears its answer
    (a later request may depend on it)."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await Connection.open(host, port))
    result = Result(seconds)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    total = int(rate * seconds)
    in_flight: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    async def one(i: int, scheduled: float) -> None:
        conn = await idle.get()
        method, path, headers, body = make_request(i)
        status, answer = await conn.request(method, path, headers, body)
        result.latencies.append(loop.time() - scheduled)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        idle.put_nowait(conn)
        if on_answer is not None:  # after the connection is back: a failure here stalls nothing
            on_answer(i, status, answer)

    def done(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            failures.append(error)

    gc.freeze()
    try:
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i, scheduled))
            in_flight.add(task)
            task.add_done_callback(done)
        await asyncio.gather(*in_flight)
    finally:
        gc.unfreeze()
    if failures:
        raise failures[0]
    result.seconds = loop.time() - start
    while not idle.empty():
        idle.get_nowait().close()
    return result
