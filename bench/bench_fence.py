"""What the lease's fence costs the owner's commits, on PostgreSQL (docs/scale-out.md).

One real Service (engine, projection, store) on PostgreSQL applies durable
status changes, `--concurrency` callers in flight, in rounds that take turns:
unfenced (one instance, as today), then fenced (the store checks the lease's
epoch in each commit's transaction: one more statement). Prints, per mode, the
medians over the rounds of: status changes per second, CPU microseconds per
change in this process, and milliseconds per commit (the transaction, from the
service's histogram). Run it at --concurrency 1 (one change per commit: the
fence's round trip shows most) and 64 (group commit).

Then the committer alone, `--commits` times, fenced and unfenced taking turns
commit by commit (so that the machine's other load falls on both alike): the
write plan of one status change's rows, median and 90th percentile of the
wall time per commit, and the CPU of this process per commit.

Run: .venv/bin/python bench/bench_fence.py --database postgresql://postgres@127.0.0.1:5432/onduty_bench
         [--seconds 3] [--rounds 5] [--concurrency 1]      (an EMPTY database: it is migrated and filled)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from floor import logged_in_agents
from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.journal import JournalEntry
from onduty.service.service import Service
from onduty.storage._write_plan import WritePlan, write_plan
from onduty.storage.database import resolve
from onduty.storage.lease import Fence, Leases
from onduty.storage.migrate import upgrade
from onduty.storage.projection import Rows
from onduty.storage.store import SqlStore

AGENTS = 200


def histogram_totals(service: Service) -> tuple[float, float]:
    [metric] = list(service.metrics.commit_seconds.collect())
    total = next(s.value for s in metric.samples if s.name.endswith("_sum"))
    count = next(s.value for s in metric.samples if s.name.endswith("_count"))
    return total, count


async def one_round(service: Service, ids: list[int], seconds: float, concurrency: int, start: int) -> list[float]:
    """Status changes for `seconds`; returns [changes/s, CPU µs per change, ms per commit]."""
    done = 0
    end = time.perf_counter() + seconds
    sum_before, count_before = histogram_totals(service)

    async def caller(k: int) -> None:
        nonlocal done
        n = start + k
        while time.perf_counter() < end:
            agent = ids[n % AGENTS]
            state = State.ACTIVE if (n // AGENTS) % 2 == 0 else State.NOT_READY
            await service.execute(c.SetStatus(agent, state, None, Actor.agent(agent)))
            done += 1
            n += concurrency

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sum_after, count_after = histogram_totals(service)
    per_commit = (sum_after - sum_before) / max(1.0, count_after - count_before)
    return [done / wall, cpu / done * 1e6, per_commit * 1e3]


def status_change_plan(n: int) -> WritePlan:
    """What one status change writes besides its agent's row: a status_log row and an event."""
    log_row = {
        "agent_id": 1, "team": "t", "at": float(n), "from_state": "active", "from_reason": None,
        "to_state": "not_ready", "to_reason": None, "actor_kind": "agent", "actor_id": 1, "actor_why": None,
    }  # fmt: skip
    event = JournalEntry("agent.status_changed", float(n), {"agent_id": 1}, {"agents": [1], "teams": ["t"]})
    return write_plan("postgresql", Rows(status_log=[log_row], journal=[event]), [])


async def commits_alone(store: SqlStore, fence: Fence, count: int) -> None:
    timings: dict[str, list[float]] = {"unfenced": [], "fenced": []}
    cpu: dict[str, float] = {"unfenced": 0.0, "fenced": 0.0}
    for n in range(count):
        for mode in timings if n % 2 else reversed(timings):
            store.fence(fence if mode == "fenced" else None)
            plan = status_change_plan(n)
            started, cpu_started = time.perf_counter(), time.process_time()
            await store.committer.commit(plan)
            timings[mode].append(time.perf_counter() - started)
            cpu[mode] += time.process_time() - cpu_started
    print(f"the committer alone, {count} commits each, taking turns")
    for mode, walls in timings.items():
        p50, p90 = statistics.median(walls), statistics.quantiles(walls, n=10)[-1]
        print(f"  {mode:9}: {p50 * 1e3:6.3f} ms median, {p90 * 1e3:6.3f} ms p90, {cpu[mode] / count * 1e6:5.1f} µs CPU")
    difference = statistics.median(timings["fenced"]) - statistics.median(timings["unfenced"])
    print(f"  fence: {difference * 1e6:+.0f} µs per commit (medians)")


async def main(args: argparse.Namespace) -> None:
    db = resolve(args.database)
    if db.is_sqlite:
        raise SystemExit("the fence is PostgreSQL's: give --database postgresql://…")
    await upgrade(db)
    store = SqlStore(db)
    service = Service(store)
    await service.start()
    leases = Leases(db)
    try:
        lease = await leases.acquire("bench", 3600.0)
        if lease is None:
            raise SystemExit("the workspace's lease is held by another instance")
        ids = await logged_in_agents(service, store, AGENTS)
        await one_round(service, ids, 1.0, args.concurrency, 0)  # warm up
        results: dict[str, list[list[float]]] = {"unfenced": [], "fenced": []}
        start = 1
        for _ in range(args.rounds):
            for mode, rounds in results.items():
                store.fence(lease.fence if mode == "fenced" else None)
                rounds.append(await one_round(service, ids, args.seconds, args.concurrency, start))
                start += 1
        print(f"durable status changes on PostgreSQL, {args.concurrency} callers in flight, {args.rounds} rounds each")
        medians = {}
        for mode, rounds in results.items():
            medians[mode] = [statistics.median(column) for column in zip(*rounds, strict=True)]
            rate, cpu, commit = medians[mode]
            print(f"  {mode:9}: {rate:8,.0f} changes/s, {cpu:6.1f} µs CPU each, {commit:6.3f} ms per commit (medians)")
            print(f"             rates: {', '.join(f'{r[0]:,.0f}' for r in rounds)}")
        (rate0, cpu0, commit0), (rate1, cpu1, commit1) = medians["unfenced"], medians["fenced"]
        print(
            f"  fenced vs unfenced: rate x{rate1 / rate0:.3f}, CPU x{cpu1 / cpu0:.3f},"
            f" commit {1e3 * (commit1 - commit0):+.0f} µs"
        )
        await service.stop()
        await commits_alone(store, lease.fence, args.commits)
    finally:
        await leases.close()
        await service.stop()
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="an EMPTY PostgreSQL database")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--commits", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
