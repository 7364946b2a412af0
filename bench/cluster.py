"""Several real `onduty serve` instances on one PostgreSQL database and one Redis, for the
benches of docs/performance.md, "Several instances": start, stop, kill, ask their health,
read their CPU and memory from /proc, scrape their metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench_api import free_port

CLK_TCK = os.sysconf("SC_CLK_TCK")


async def fresh_database(url: str) -> None:
    """Drop the database named in `url` (a bench's own: `onduty_bench_…`) and make it anew."""
    base, _, name = url.rpartition("/")
    if not name.startswith("onduty_bench"):
        raise SystemExit(f"refusing to drop {name!r}: give a database named onduty_bench_…")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@dataclass
class Instance:
    name: str
    database: str
    redis: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # time.monotonic() of the last start

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "onduty", "serve", "--port", str(self.port), "--database", self.database,
             "--redis", self.redis, "--instance-id", self.name, "--log-json"],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> float:
        """SIGKILL; returns the moment it was sent (time.monotonic())."""
        assert self.process is not None
        at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return at

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cpu(self) -> float:
        """CPU seconds (user + system) the process used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM, in bytes."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
        return out

    async def health(self, client: httpx.AsyncClient) -> dict[str, Any] | None:
        """/healthz's answer, or None when it does not answer 200."""
        with contextlib.suppress(httpx.TransportError):
            response = await client.get(f"{self.url}/healthz", timeout=2)
            if response.status_code == 200:
                answer: dict[str, Any] = response.json()
                return answer
        return None

    async def wait_healthy(self, client: httpx.AsyncClient, timeout: float = 300) -> tuple[float, dict[str, Any]]:
        """Until /healthz answers 200; (seconds since the start, its answer)."""
        while True:
            health = await self.health(client)
            if health is not None:
                return time.monotonic() - self.started_at, health
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() - self.started_at > timeout:
                tail = (self.workdir / f"{self.name}.log").read_text()[-3000:]
                raise SystemExit(f"instance {self.name} did not start:\n{tail}")
            await asyncio.sleep(0.02)


async def wait_for_owner(
    instances: list[Instance], client: httpx.AsyncClient, timeout: float = 60
) -> tuple[Instance, dict[str, Any]]:
    """The instance whose /healthz says owner, once one does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for instance in instances:
            health = await instance.health(client)
            if health is not None and health.get("role") == "owner":
                return instance, health
        await asyncio.sleep(0.05)
    raise SystemExit("no instance became owner")


async def wait_caught_up(follower: Instance, owner: Instance, client: httpx.AsyncClient, timeout: float = 60) -> float:
    """Until `follower`'s applied event reaches the owner's (as it was when asked); seconds."""
    started = time.monotonic()
    target = (await owner.health(client) or {}).get("applied_event_id", 0)
    while time.monotonic() - started < timeout:
        health = await follower.health(client)
        if health is not None and health.get("role") == "follower" and health["applied_event_id"] >= target:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise SystemExit(f"{follower.name} did not catch up with {owner.name}")


def histogram(text: str, name: str) -> dict[float, float]:
    """A Prometheus histogram's cumulative buckets (upper bound -> count) from /metrics."""
    buckets: dict[float, float] = {}
    prefix = f'{name}_bucket{{le="'
    for line in text.splitlines():
        if line.startswith(prefix):
            bound, _, value = line[len(prefix) :].partition('"}')
            buckets[float(bound)] = float(value)
    return buckets


def counter(text: str, name: str) -> float:
    """The sum of a metric's samples (every label) from /metrics."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            if key == name or key.startswith(name + "{"):
                total += float(value)
    return total


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> tuple[float, float, int]:
    """From two scrapes of a histogram: (lower, upper) bounds of the bucket holding the
    q-quantile of what was observed between them, and how many were."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    lower = 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= q * total:
            return lower, bound, int(total)
        lower = bound
    return lower, float("inf"), int(total)
