"""Events between instances (service/fanout_redis.py): latency from a publish on instance A to
the delivery to a subscriber on instance B, and the CPU each side spends per event.

Two processes, as two instances: this one is A (it publishes; it has one local
subscriber, a dashboard that drains what it gets); a child process is B (one
subscriber, which notes when each event reaches it). Both run `RedisFanOut` on
the same Redis channel (a random one) and the same PostgreSQL journal, on uvloop
as `onduty serve` does.

The events (`agent.status_changed`, shaped and sized as the service's, in
batches of `--batch`) are numbered after the journal's last id, as the next
commits would be, but not committed: the figures are the fan-out's alone (a
commit's cost is bench_commit.py's). Nothing is missed in the timed part, so
nobody reads the journal there; the tests show the gap fills. A publishes the
batches at `--rate` events per second (paced on an absolute schedule),
stamping each event with `time.monotonic()` as it publishes (one clock for
both processes on Linux). B checks every id arrived once, in order.

CPU: each process's own CPU time over the timed part (A: publishing, its
listener receiving its own echo and dropping it, its dashboard; B: receiving,
decoding, delivering), divided by the events; and the same over an idle span
of the same length, to show what the listener costs when nothing happens.

The database is migrated, and its journal (`events`) emptied: give it one of
its own.

Run: .venv/bin/python bench/bench_redis_fanout.py --database postgresql://postgres@127.0.0.1:5432/onduty_bench
     [--redis redis://127.0.0.1:6379/0] [--rate 1000] [--seconds 10] [--batch 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import asyncpg
import uvloop

from onduty.journal import JournalEntry, StoredEvent
from onduty.service.fanout_redis import RedisFanOut
from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade_sync
from onduty.storage.store import SqlStore


def status_change(n: int) -> JournalEntry:
    agent = n % 500
    states = ("active", "not_ready")
    data: dict[str, Any] = {
        "agent_id": agent,
        "from_state": states[(n + 1) % 2],
        "from_reason": None,
        "to_state": states[n % 2],
        "to_reason": None,
        "by": {"kind": "agent", "id": agent, "why": None},
        "team": "t0",
        "since": 1_700_000_000.0 + n,
    }
    return JournalEntry("agent.status_changed", 1_700_000_000.0 + n, data, {"public": True, "teams": ["t0"]})


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- B: the other instance -----------------------------------------------------------------


async def subscriber(args: argparse.Namespace) -> None:
    store = SqlStore(resolve(args.database))
    fanout = RedisFanOut(store, args.redis, channel_prefix=args.prefix)
    await fanout.start(after=args.after)
    subscription = fanout.subscribe(limit=1_000_000)
    while fanout.subscribed == 0:
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    sys.stdin.readline()  # A says when the idle span starts
    cpu = time.process_time()
    await asyncio.sleep(args.seconds)
    idle_cpu = time.process_time() - cpu
    print("idle-done", flush=True)
    delays: list[float] = []
    ids: list[int] = []
    cpu = time.process_time()
    while len(ids) < args.count:
        batch = await subscription.batch()
        now = time.monotonic()
        assert batch, "cut off"
        for event in batch:
            delays.append(now - event.data["sent"])
            ids.append(event.id)
    busy_cpu = time.process_time() - cpu
    print(json.dumps({"delays": delays, "ids": ids, "cpu": busy_cpu, "idle_cpu": idle_cpu}), flush=True)
    await fanout.close()
    await store.close()


# -- A: the publishing instance -------------------------------------------------------------


async def drain(subscription: Any, counter: list[int]) -> None:
    while True:
        batch = await subscription.batch()
        if not batch:
            return
        counter[0] += len(batch)


async def round_(args: argparse.Namespace, store: SqlStore) -> dict[str, Any]:
    count = int(args.rate * args.seconds)
    after = await store.last_event_id()
    # Numbered after the journal's last event, as the next commits would be, but not committed:
    # the journal is read only on a gap or after a silence, and there is none in the timed part.
    batches: list[list[StoredEvent]] = []
    for first in range(0, count, args.batch):
        entries = [(after + 1 + n, status_change(n)) for n in range(first, min(count, first + args.batch))]
        batches.append([StoredEvent(i, j.name, j.at, j.data, j.scope) for i, j in entries])
    prefix = f"onduty-bench:{uuid.uuid4().hex}:"
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--role=subscriber",
            f"--database={args.database}",
            f"--redis={args.redis}",
            f"--prefix={prefix}",
            f"--after={after}",
            f"--count={count}",
            f"--seconds={args.seconds}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    fanout = RedisFanOut(store, args.redis, channel_prefix=prefix)
    await fanout.start(after=after)
    dashboard = fanout.subscribe(limit=1_000_000)
    received = [0]
    drainer = asyncio.create_task(drain(dashboard, received))
    loop = asyncio.get_running_loop()
    try:
        while fanout.subscribed == 0:
            await asyncio.sleep(0.01)
        assert (await loop.run_in_executor(None, child.stdout.readline)).strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        cpu = time.process_time()
        await asyncio.sleep(args.seconds)
        idle_cpu = time.process_time() - cpu
        assert (await loop.run_in_executor(None, child.stdout.readline)).strip() == "idle-done"
        interval = args.batch / args.rate
        cpu, started = time.process_time(), time.monotonic()
        for i, batch in enumerate(batches):
            delay = started + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.monotonic()
            for event in batch:
                event.data["sent"] = sent
            await fanout.publish(batch)
        elapsed = time.monotonic() - started
        while received[0] < count:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.2)  # the last echoes come back and are dropped (counted in A's CPU)
        busy_cpu = time.process_time() - cpu
        result = json.loads(await loop.run_in_executor(None, child.stdout.readline))
    finally:
        dashboard.interrupt()
        await drainer
        await fanout.close()
        child.wait(30)
    expected = [e.id for batch in batches for e in batch]
    delays_ms = [d * 1000 for d in result["delays"]]
    return {
        "events": count,
        "achieved_rate": count / elapsed,
        "p50_ms": statistics.median(delays_ms),
        "p99_ms": percentile(delays_ms, 99),
        "max_ms": max(delays_ms),
        "a_us_per_event": busy_cpu / count * 1e6,
        "b_us_per_event": result["cpu"] / count * 1e6,
        "a_idle_ms_per_s": idle_cpu / args.seconds * 1e3,
        "b_idle_ms_per_s": result["idle_cpu"] / args.seconds * 1e3,
        "in_order_once": result["ids"] == expected,
        "a_from_journal": fanout.delivery.from_journal,
        "messages": fanout.published_messages,
    }


async def publisher(args: argparse.Namespace) -> None:
    db = resolve(args.database)
    conn = await asyncpg.connect(db.url.replace("postgresql://", "postgres://"))
    await conn.execute("TRUNCATE events RESTART IDENTITY")
    await conn.close()
    store = SqlStore(db)
    print(
        f"rate {args.rate} events/s, batches of {args.batch}, {args.seconds} s a round, "
        f"redis {args.redis}, {os.cpu_count()} cores"
    )
    print(
        f"{'round':>5} {'events':>7} {'rate':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'A µs/ev':>8} {'B µs/ev':>8} {'A idle':>7} {'B idle':>7} {'ok':>3}"
    )
    try:
        for n in range(1, args.rounds + 1):
            r = await round_(args, store)
            print(
                f"{n:>5} {r['events']:>7} {r['achieved_rate']:>7.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
                f"{r['max_ms']:>7.2f} {r['a_us_per_event']:>8.1f} {r['b_us_per_event']:>8.1f} "
                f"{r['a_idle_ms_per_s']:>7.2f} {r['b_idle_ms_per_s']:>7.2f} {'yes' if r['in_order_once'] else 'NO':>3}"
            )
    finally:
        await store.close()
    print("idle: CPU ms per second with no event (the listener waiting, the journal poll)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("ONDUTY_BENCH_POSTGRES"), required=False)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", choices=["publisher", "subscriber"], default="publisher")
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--after", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.database:
        parser.error("--database postgresql://… (or ONDUTY_BENCH_POSTGRES): a database of the bench's own")
    if args.role == "publisher":
        upgrade_sync(resolve(args.database))  # before the event loop: migrations run one of their own
    uvloop.run(subscriber(args) if args.role == "subscriber" else publisher(args))


if __name__ == "__main__":
    main()
