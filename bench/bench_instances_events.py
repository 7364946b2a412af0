"""Three instances under a steady load of status changes: a dashboard's event latency on
another instance, the followers' lag, and the CPU a forwarded command costs each role
(docs/performance.md, "Several instances").

Three real `onduty serve --redis` instances on one fresh PostgreSQL database: A (the
owner: started first), B and C (followers). `--agents` agents, written into the
database beforehand as bench_api.py does, log in through A. An admin's dashboard
(`GET /api/v1/events`, the lean client of wsclient.py) listens on B.

Two phases (`--phases`), the same load each, in this order:

1. **via C**: `--rate` status changes a second (`PUT /api/v1/me/status`, each agent in
   turn flipping between active and not_ready), open loop, from `--connections` HTTP
   connections to C, which forwards each to A and waits for its own copy before answering;
2. **direct**: the same count, at the same rate, to A;
3. **reads** (only when asked): the same count of `GET /api/v1/me` to C, for the CPU of a read.

Between them the instances idle for as long, for the CPU they spend doing nothing.

For each phase:
- the dashboard's latency: from the moment the request was written (this process's
  `perf_counter`, the same machine clock) to the event `agent.status_changed` that it
  produced arriving on B's stream; p50/p99/max, and how many of the changes arrived;
- the answers' latency (from each request's scheduled moment: no coordinated omission);
- the followers' lag from their `onduty_replication_lag_seconds` histograms (scraped
  before and after: the bucket holding p50 and p99), and B's staleness sampled every
  `--sample` seconds: how long the oldest acknowledged change it had not applied yet had
  been acknowledged (0 when it had them all) — in the direct phase, where an
  acknowledgement is the owner's commit;
- CPU seconds of A, B, C (utime+stime from /proc), of this database's PostgreSQL
  backends, of Redis and of this process, per status change, raw and less the idle
  span's; and the whole machine's busy share (/proc/stat), which other work on it shares.

Run: .venv/bin/python bench/bench_instances_events.py                      # 500/s for 5 s
     .venv/bin/python bench/bench_instances_events.py --rate 1000 --seconds 20 --agents 2000
     [--connections 32] [--database postgresql://postgres@127.0.0.1:5432/onduty_bench_events]  (dropped, made anew)
     [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import uvloop

import loadgen
import wsclient
from bench_api import add_admin, add_agents, log_in
from cluster import (
    CLK_TCK,
    Instance,
    bucket_quantile,
    counter,
    fresh_database,
    histogram,
    wait_caught_up,
    wait_for_owner,
)

LAG = "onduty_replication_lag_seconds"
STATES = ("active", "not_ready")


@dataclass
class Change:
    agent: int
    state: str
    scheduled: float
    written: float = 0.0
    answered: float = 0.0
    status: int = 0
    event_id: int = 0
    delivered: float = 0.0  # on B's dashboard


@dataclass
class Phase:
    name: str
    changes: list[Change] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the phase, by process
    machine_busy: float = 0.0  # share of the machine's cores busy
    lag: dict[str, tuple[dict[float, float], dict[float, float]]] = field(default_factory=dict)
    forwarded: float = 0.0
    staleness: list[float] = field(default_factory=list)


async def request(conn: loadgen.Connection, method: str, path: str, token: str, body: bytes) -> tuple[int, int]:
    """(status, Onduty-Event-Id) of one request on a keep-alive connection."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    response = await conn.http.request(method, path, headers, body)
    return response.status, int(response.header("onduty-event-id") or 0)


async def drive(
    target: Instance,
    tokens: list[str],
    ids: list[int],
    rate: float,
    count: int,
    connections: int,
    first: int,
    changes: list[Change],
    index: dict[tuple[int, str], Change],
    reads: bool = False,
) -> float:
    """Open loop: `count` status changes at `rate` from `connections` connections to `target`;
    request n (from `first` on) flips agent n mod len(ids). Each change is appended to
    `changes`, and indexed by (agent, state) when it is written (an agent's next change
    leaves len(ids) / rate seconds later); returns the seconds it took."""
    idle: asyncio.Queue[loadgen.Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await loadgen.Connection.open("127.0.0.1", target.port))
    loop = asyncio.get_running_loop()
    start = time.perf_counter() + 0.05
    in_flight: set[asyncio.Task[None]] = set()
    bodies = {state: json.dumps({"state": state}).encode() for state in STATES}

    async def one(n: int, change: Change) -> None:
        conn = await idle.get()
        if not reads:
            index[(change.agent, change.state)] = change  # as it leaves: the next event of this kind is its
        change.written = time.perf_counter()
        try:
            if reads:
                change.status, change.event_id = await request(conn, "GET", "/api/v1/me", tokens[n % len(tokens)], b"")
            else:
                change.status, change.event_id = await request(
                    conn, "PUT", "/api/v1/me/status", tokens[n % len(tokens)], bodies[change.state]
                )
        except (OSError, ValueError, asyncio.IncompleteReadError):
            change.status = -1  # counted among the answers; the connection is made anew
            conn.close()
            conn = await loadgen.Connection.open("127.0.0.1", target.port)
        change.answered = time.perf_counter()
        idle.put_nowait(conn)

    gc.freeze()
    try:
        for i in range(count):
            n = first + i
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            change = Change(ids[n % len(ids)], STATES[(n // len(ids)) % 2], scheduled)
            changes.append(change)
            task = loop.create_task(one(n, change))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
    finally:
        gc.unfreeze()
    took = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return took


# -- CPU ---------------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pids_matching(words: tuple[str, ...]) -> list[int]:
    """Processes whose command line holds every word (PostgreSQL backends show their database)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if all(word in cmdline for word in words):
                out.append(int(entry.name))
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class CpuMeter:
    def __init__(self, instances: list[Instance], database: str) -> None:
        self.instances = instances
        self.database = database.rpartition("/")[2]

    def read(self) -> dict[str, float]:
        out = {i.name: i.cpu() for i in self.instances}
        out["postgres"] = sum(proc_cpu(p) for p in pids_matching(("postgres:", self.database)))
        out["redis"] = sum(proc_cpu(p) for p in pids_matching(("redis-server",)))
        out["bench"] = time.process_time()
        busy, total = machine_ticks()
        out["_busy"], out["_total"] = float(busy), float(total)
        return out

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> tuple[dict[str, float], float]:
        cpu = {k: after[k] - before.get(k, 0.0) for k in after if not k.startswith("_")}
        busy = (after["_busy"] - before["_busy"]) / max(1.0, after["_total"] - before["_total"])
        return cpu, busy


# -- the run --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sample_staleness(b: Instance, phase: Phase, every: float, stop: asyncio.Event) -> None:
    """Every `every` s: how long B's oldest missing acknowledged change had been acknowledged."""
    async with httpx.AsyncClient() as http:
        while not stop.is_set():
            now = time.perf_counter()
            health = await b.health(http)
            if health is not None:
                applied = health["applied_event_id"]
                waiting = [
                    c.answered for c in phase.changes if c.answered and c.answered < now and c.event_id > applied
                ]
                phase.staleness.append(now - min(waiting) if waiting else 0.0)
            await asyncio.sleep(every)


async def run_phase(
    name: str,
    target: Instance,
    followers: list[Instance],
    meter: CpuMeter,
    tokens: list[str],
    ids: list[int],
    args: argparse.Namespace,
    first: int,
    by_change: dict[tuple[int, str], Change],
    http: httpx.AsyncClient,
    reads: bool = False,
) -> Phase:
    phase = Phase(name)
    scrapes = {f.name: (await http.get(f"{f.url}/metrics")).text for f in followers}
    forwarded = counter(scrapes.get("C", ""), "onduty_forwarded_total")
    count = int(args.rate * args.seconds)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_staleness(followers[0], phase, args.sample, stop))
    before = meter.read()
    phase.seconds = await drive(
        target, tokens, ids, args.rate, count, args.connections, first, phase.changes, by_change, reads
    )
    await asyncio.sleep(0.5)  # the last events on their way to the dashboard
    after = meter.read()
    stop.set()
    await sampler
    phase.cpu, phase.machine_busy = CpuMeter.spent(before, after)
    for f in followers:
        text = (await http.get(f"{f.url}/metrics")).text
        phase.lag[f.name] = (histogram(scrapes[f.name], LAG), histogram(text, LAG))
        if f.name == "C":
            phase.forwarded = counter(text, "onduty_forwarded_total") - forwarded
    return phase


def report(phase: Phase, idle: dict[str, float], idle_seconds: float, args: argparse.Namespace) -> None:
    changes = phase.changes
    answered = [c for c in changes if c.status == 200]
    statuses: dict[int, int] = {}
    for c in changes:
        statuses[c.status] = statuses.get(c.status, 0) + 1
    delivered = [c.delivered - c.written for c in changes if c.delivered]
    latencies = [c.answered - c.scheduled for c in changes]
    n = len(changes)
    print(f"  {phase.name}: {n:,} status changes in {phase.seconds:.1f} s ({n / phase.seconds:,.0f}/s offered "
          f"{args.rate:,.0f}/s), answers {statuses}; forwarded by C: {phase.forwarded:,.0f}")  # fmt: skip
    print(f"    answer latency (from the scheduled moment): p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")  # fmt: skip
    print(f"    dashboard on B, request written -> event received: {len(delivered):,} of {len(answered):,} "
          f"changes; p50 {percentile(delivered, 0.5) * 1000:.1f} ms, p99 {percentile(delivered, 0.99) * 1000:.1f} ms, "
          f"max {max(delivered, default=float('nan')) * 1000:.1f} ms (target p99 <= 100 ms)")  # fmt: skip
    for name, (before, after) in phase.lag.items():
        lo50, hi50, total = bucket_quantile(before, after, 0.5)
        lo99, hi99, _ = bucket_quantile(before, after, 0.99)
        print(f"    follower {name} lag (histogram, {total:,} batches): p50 in ({lo50 * 1000:g}, {hi50 * 1000:g}] ms, "
              f"p99 in ({lo99 * 1000:g}, {hi99 * 1000:g}] ms (target p99 <= 50 ms)")  # fmt: skip
    stale = phase.staleness
    print(f"    B's staleness, sampled {len(stale):,} times: p50 {percentile(stale, 0.5) * 1000:.1f} ms, "
          f"p99 {percentile(stale, 0.99) * 1000:.1f} ms, max {max(stale, default=0.0) * 1000:.1f} ms; "
          f"{sum(1 for s in stale if s == 0) / max(1, len(stale)):.0%} of samples held every acknowledged "
          "change")  # fmt: skip
    scale = phase.seconds / idle_seconds
    parts = []
    for name, spent in phase.cpu.items():
        net = spent - idle.get(name, 0.0) * scale
        parts.append(f"{name} {spent / n * 1e6:,.0f} ({net / n * 1e6:,.0f})")
    print(f"    CPU µs per status change, raw (less idle): {', '.join(parts)}")
    cores = sum(phase.cpu.values()) / phase.seconds
    print(f"    CPU: ours {cores:.2f} cores of {os.cpu_count()}; the whole machine {phase.machine_busy:.0%} busy")


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench_events_"))
    await fresh_database(args.database)
    token = add_admin(args.database, workdir)  # migrates the database too
    tokens = await asyncio.to_thread(add_agents, args.database, args.agents)  # it runs its own loop
    conn = await asyncpg.connect(args.database)
    try:
        by_name = {r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM users")}
    finally:
        await conn.close()
    ids = [by_name[f"agent{i}"] for i in range(args.agents)]

    instances = [Instance(name, args.database, args.redis, workdir) for name in ("A", "B", "C")]
    a, b, c = instances
    by_change: dict[tuple[int, str], Change] = {}

    def on_message(message: bytes, at: float) -> None:
        if b'"agent.status_changed"' not in message:
            return
        event = json.loads(message)
        change = by_change.get((event["data"]["agent_id"], event["data"]["to_state"]))
        if change is not None and not change.delivered:
            change.delivered = at

    async with httpx.AsyncClient(timeout=10) as http:
        try:
            for instance in instances:
                instance.start()
                await instance.wait_healthy(http)
            owner, _ = await wait_for_owner(instances, http)
            assert owner is a, owner.name
            started = time.perf_counter()
            await log_in(a.port, tokens)
            for f in (b, c):
                await wait_caught_up(f, a, http)
            print(f"instances bench, PostgreSQL + Redis, {os.cpu_count()} cores (shared): 3 instances, "
                  f"{args.agents:,} agents logged in through A in {time.perf_counter() - started:.1f} s; "
                  f"logs in {workdir}")  # fmt: skip
            dashboard = await wsclient.connect(f"ws://127.0.0.1:{b.port}/api/v1/events?token={token}", on_message,
                                               deflate=False)  # fmt: skip
            meter = CpuMeter(instances, args.database)
            count = int(args.rate * args.seconds)
            phases = []
            chosen = [
                p
                for p in (
                    ("via", "via C (follower)", c),
                    ("direct", "direct to A (owner)", a),
                    ("reads", "reads on C (GET /api/v1/me)", c),
                )
                if p[0] in args.phases
            ]
            idle: dict[str, float] = {}
            for k, (_, name, target) in enumerate(chosen):
                first = k * count
                phase = await run_phase(
                    name,
                    target,
                    [b, c],
                    meter,
                    tokens,
                    ids,
                    args,
                    first,
                    by_change,
                    http,
                    reads=name.startswith("reads"),
                )
                phases.append(phase)
                if k == 0:
                    idle_before = meter.read()
                    await asyncio.sleep(args.seconds)
                    idle, _ = CpuMeter.spent(idle_before, meter.read())
            dashboard.close()
            print(f"  idle over {args.seconds:g} s, CPU ms per second: "
                  + ", ".join(f"{k} {v / args.seconds * 1000:.1f}" for k, v in idle.items()))  # fmt: skip
            for phase in phases:
                report(phase, idle, args.seconds, args)
        finally:
            for instance in instances:
                instance.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500.0, help="status changes a second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--phases",
        type=lambda v: v.split(","),
        default=["via", "direct"],
        help="via,direct,reads (in this order), or some of them",
    )
    parser.add_argument("--connections", type=int, default=32, help="HTTP connections the load uses")
    parser.add_argument("--sample", type=float, default=0.02, help="seconds between samples of B's staleness")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/onduty_bench_events")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    uvloop.run(main(parser.parse_args()))
