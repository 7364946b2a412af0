"""A small HTTP/1.1 load generator: keep-alive connections, one request in flight each.

Why not httpx: its async connection pool collapses with many connections in
flight (measured here: 76 requests/s against a bare ASGI app with 64
connections, against 689 with one), which would measure the client instead
of the server. This speaks just enough HTTP/1.1 for our JSON API.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return status, await self._chunks()
        return status, await self.reader.readexactly(length) if length else b""

    async def _chunks(self) -> bytes:
        body = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return body
            body += chunk[:-2]

    def close(self) -> None:
        self.writer.close()


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
    host: str, port: int, make_request: Callable[[int], Request], *, rate: float, seconds: float, connections: int
) -> Result:
    """Open loop: requests leave at a fixed `rate`, whatever the answers do. Latency runs
    from each request's scheduled moment, so a slow server is not hidden by a client that
    waits for it (no coordinated omission).

    The client must not add latency of its own. Only the requests in flight are held: a
    gather over every task of the run, once the last was sent, queued a callback per task
    already done (20,000 of them) ahead of the last answers, whose latency then grew by
    100-150 ms (seen in every run: the server's loop and an idle canary process showed no
    pause then). And what the process holds before the run is frozen out of the garbage
    collector's sight, so a full collection cannot pause the client mid-run."""
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
        status, _ = await conn.request(method, path, headers, body)
        result.latencies.append(loop.time() - scheduled)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        idle.put_nowait(conn)

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
