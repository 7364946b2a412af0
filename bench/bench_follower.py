"""A follower's lag behind the owner under a steady load of status changes.

In one process: a `Service` (the owner) on a fresh database, `--rate` status changes a
second spread over `--agents` agents (each acknowledged after its commit), and a
`Follower` tailing the command log on its own connections (polling every `--poll`
seconds). For each status change: the time from its acknowledgement (the owner's commit)
to the follower having applied the batch that wrote it. Prints p50, p90, p99 and max of
that lag, and the rate the owner and the follower kept. Both share this process's CPU.

Run: .venv/bin/python bench/bench_follower.py [--rate 1000] [--seconds 10] [--poll 0.005]
         [--database postgresql://postgres@127.0.0.1:5432/onduty_follower]   (an EMPTY database)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import uvloop

from floor import logged_in_agents
from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.service.follower import Follower
from onduty.service.service import Service
from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade
from onduty.storage.store import SqlStore


async def main(args: argparse.Namespace) -> None:
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'onduty.db'}"
    db = resolve(url)
    await upgrade(db)
    store = SqlStore(db)
    service = Service(store)
    await service.start()
    ids = await logged_in_agents(service, store, args.agents)

    follower_store = SqlStore(db)  # the follower's own connections, as on another instance
    follower = Follower(follower_store, poll_seconds=args.poll)
    await follower.start()
    follower.follow()

    lags: list[float] = []
    waits: set[asyncio.Task[None]] = set()

    async def flip(agent_id: int, state: State) -> None:
        outcome = await service.execute(c.SetStatus(agent_id, state, None, Actor.agent(agent_id)))
        acknowledged = time.perf_counter()
        if outcome.stored and await follower.wait_for_event(outcome.stored[-1].id, timeout=10):
            lags.append(time.perf_counter() - acknowledged)

    interval = 1 / args.rate
    started = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - started) < args.seconds:
        due = int(elapsed / interval) + 1
        for _ in range(due - sent):
            agent_id = ids[sent % len(ids)]
            state = State.ACTIVE if (sent // len(ids)) % 2 == 0 else State.NOT_READY
            task = asyncio.create_task(flip(agent_id, state))
            waits.add(task)
            task.add_done_callback(waits.discard)
            sent += 1
        await asyncio.sleep(interval)
    await asyncio.gather(*waits)
    took = time.perf_counter() - started
    await follower.stop()
    await service.stop()
    await store.close()
    await follower_store.close()

    lags.sort()

    def at(q: float) -> float:
        return lags[min(len(lags) - 1, int(q * len(lags)))] * 1000

    print(f"database: {db.dialect}; {args.agents} agents; poll every {args.poll * 1000:g} ms")
    print(f"owner: {sent / took:,.0f} status changes/s acknowledged ({sent} in {took:.1f} s)")
    print(f"follower applied {len(lags)} of them; log rows applied: {follower.applied_log_id}")
    print(
        f"lag commit -> applied on the follower: p50 {at(0.5):.1f} ms, p90 {at(0.9):.1f} ms, "
        f"p99 {at(0.99):.1f} ms, max {lags[-1] * 1000:.1f} ms, mean {statistics.fmean(lags) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1000.0, help="status changes a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between the follower's reads of the log")
    parser.add_argument("--database", default=None, help="an EMPTY database (default: a fresh SQLite file)")
    uvloop.run(main(parser.parse_args()))
