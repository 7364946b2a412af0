"""Takeover: the owner SIGKILLed under a steady trickle of writes; how long until a new owner
acknowledges them (docs/performance.md, "Several instances").

The database is filled straight into the tables the service writes, as
bench_restart.py does (its `fill`): `--agents` agents (80 % active, each holding its
capacity) and `--threads` open threads (90 % held, 10 % queued), a steady state the
engine restores. The first admin is made with `onduty users add`, then three real
`onduty serve --redis` instances start (default lease: 3 s, renewed every 1 s).

A client posts a client's message (`POST /api/v1/threads`, a new client each time, as
the admin) through a follower every `--every` seconds, each request its own task,
retried on a 503 or a connection error under the same Idempotency-Key. Each round: the
owner is SIGKILLed; the takeover time is from the kill to the first acknowledgement of a
message *sent after the kill* (the dead owner cannot have committed it: the new one
did), and /healthz is asked who owns the workspace now, under which epoch. Then the
killed instance is started again (same name, same port), and the round waits until it
answers /healthz as a follower that has caught up with the owner: its start time is the
restore at this size. Prints each round, p50/p99/max, the instances' memory, and checks
that every acknowledged message opened exactly one thread with exactly one message (a
retried request applied twice would have added a second message to the thread).

Run: .venv/bin/python bench/bench_takeover.py                     # 1,500 agents, 5,000 threads, 3 rounds
     .venv/bin/python bench/bench_takeover.py --agents 15000 --threads 50000 --rounds 10
     [--database postgresql://postgres@127.0.0.1:5432/onduty_bench_takeover]  (dropped and made anew)
     [--redis redis://127.0.0.1:6379/0] [--every 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import text

from bench_api import add_admin
from bench_restart import fill
from cluster import Instance, fresh_database, wait_caught_up, wait_for_owner
from onduty.storage.database import resolve
from onduty.storage.migrate import upgrade
from onduty.storage.store import SqlStore

SET_USER_IDS = "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"


@dataclass
class Sent:
    key: str
    sent: float  # time.monotonic()
    acked: float | None = None
    status: int | None = None
    tries: int = 0


@dataclass
class Client:
    """Posts a client's message through `target` every `every` seconds until stopped."""

    token: str
    every: float
    target: Instance
    run: str
    sent: list[Sent] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    _stop: bool = False

    async def send_all(self) -> None:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=30) as http:
            tasks: set[asyncio.Task[None]] = set()
            n = 0
            next_at = time.monotonic()
            while not self._stop:
                n += 1
                item = Sent(f"{self.run}-{n}", time.monotonic())
                self.sent.append(item)
                task = asyncio.create_task(self._one(http, item))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_at += self.every
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if tasks:
                await asyncio.gather(*tasks)

    async def _one(self, http: httpx.AsyncClient, item: Sent) -> None:
        headers = {"authorization": f"Bearer {self.token}", "idempotency-key": item.key}
        body = {"client_id": item.key, "text": "hello"}
        while True:
            item.tries += 1
            target = self.target  # read each try: the bench moves it to a follower
            try:
                response = await http.post(f"{target.url}/api/v1/threads", json=body, headers=headers)
            except httpx.TransportError as error:
                self.errors[type(error).__name__] = self.errors.get(type(error).__name__, 0) + 1
            else:
                if response.status_code != 503:
                    item.acked, item.status = time.monotonic(), response.status_code
                    return
                self.errors["503"] = self.errors.get("503", 0) + 1
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._stop = True


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed(url: str, agents: int, threads: int) -> None:
    db = resolve(url)
    await upgrade(db)
    store = SqlStore(db)
    try:
        await fill(store, agents, threads, 0, 0, time.time())
        async with store.engine.begin() as conn:  # the fill gave users their ids itself
            await conn.execute(text(SET_USER_IDS))
    finally:
        await store.close()


async def check_once(url: str, run: str) -> tuple[int, int, int]:
    """(threads opened by the run, of them with exactly one message, threads per client at most)."""
    store = SqlStore(resolve(url))
    try:
        async with store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT t.client_id, count(DISTINCT t.id), count(m.id) FROM threads t"
                        " LEFT JOIN messages m ON m.thread_id = t.id WHERE t.client_id LIKE :run"
                        " GROUP BY t.client_id"
                    ),
                    {"run": f"{run}-%"},
                )
            ).all()
    finally:
        await store.close()
    return len(rows), sum(1 for r in rows if r[2] == 1), max((r[1] for r in rows), default=0)


def owner_log_seconds(instance: Instance) -> list[float]:
    """The 'owner now' lines' seconds (the promotion: fence, catch-up, service start)."""
    out = []
    for line in (instance.workdir / f"{instance.name}.log").read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "owner now":
            out.append(float(entry["seconds"]))
    return out


@dataclass
class Rounds:
    takeovers: list[float] = field(default_factory=list)  # kill -> first message sent after it, acknowledged
    kills: list[float] = field(default_factory=list)  # time.monotonic() of each SIGKILL
    seen_owner: list[float] = field(default_factory=list)  # kill -> /healthz of a survivor says owner
    restarts: list[float] = field(default_factory=list)  # the killed one started again -> healthy
    catch_ups: list[float] = field(default_factory=list)  # healthy -> applied what the owner had


async def one_round(n: int, instances: list[Instance], client: Client, rounds: Rounds, http: httpx.AsyncClient) -> None:
    owner, health = await wait_for_owner(instances, http)
    survivors = [i for i in instances if i is not owner]
    client.target = survivors[n % 2]
    await asyncio.sleep(1 + (n * 0.37) % 1)  # the kill falls anywhere in a renewal period
    old_epoch = health["epoch"]
    killed_at = owner.kill()
    rounds.kills.append(killed_at)
    first: Sent | None = None  # the first acknowledgement of a message sent after the kill
    new_owner: Instance | None = None
    new_health: dict[str, object] = {}
    while first is None or new_owner is None:
        if first is None:
            acked = [s for s in client.sent if s.sent > killed_at and s.acked is not None]
            first = min(acked, key=lambda s: s.acked or 0.0) if acked else None
        if new_owner is None:
            for survivor in survivors:
                h = await survivor.health(http)
                if h is not None and h.get("role") == "owner":
                    new_owner, new_health = survivor, h
                    rounds.seen_owner.append(time.monotonic() - killed_at)
        if time.monotonic() - killed_at > 60:
            raise SystemExit("no takeover within 60 s")
        await asyncio.sleep(0.01)
    assert first.acked is not None
    took = first.acked - killed_at
    rounds.takeovers.append(took)
    new_epoch = new_health["epoch"]
    assert isinstance(new_epoch, int)
    assert new_epoch > old_epoch, (old_epoch, new_epoch)
    via = "itself" if client.target is new_owner else f"via {client.target.name}"
    # The killed one starts again: it must rejoin as a follower and catch up.
    await asyncio.sleep(0.5)
    owner.start()
    restart_seconds, h = await owner.wait_healthy(http)
    caught = await wait_caught_up(owner, new_owner, http)
    rounds.restarts.append(restart_seconds)
    rounds.catch_ups.append(caught)
    print(f"  round {n}: killed {owner.name} (epoch {old_epoch}); {new_owner.name} owns (epoch {new_epoch}) "
          f"{rounds.seen_owner[-1]:.2f} s after the kill; first message sent after the kill acknowledged at "
          f"{took:.2f} s (sent to {client.target.name}: {via}, status {first.status}); {owner.name} back as "
          f"{h.get('role')} in {restart_seconds:.2f} s, caught up {caught:.2f} s later")  # fmt: skip
    client.target = owner  # a follower for sure until the next round picks one


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench_takeover_"))
    await fresh_database(args.database)
    started = time.monotonic()
    await seed(args.database, args.agents, args.threads)
    token = add_admin(args.database, workdir)
    print(f"takeover bench, PostgreSQL, {os.cpu_count()} cores (shared): {args.agents:,} agents, "
          f"{args.threads:,} open threads, seeded in {time.monotonic() - started:.1f} s; logs in "
          f"{workdir}")  # fmt: skip

    instances = [Instance(name, args.database, args.redis, workdir) for name in ("A", "B", "C")]
    rounds = Rounds()
    async with httpx.AsyncClient() as http:
        starts: list[float] = []
        for instance in instances:  # one at a time: the first becomes owner, the others follow it
            instance.start()
            seconds, _ = await instance.wait_healthy(http)
            starts.append(seconds)
        owner, health = await wait_for_owner(instances, http)
        for instance in instances:
            if instance is not owner:
                await wait_caught_up(instance, owner, http)
        print(f"  first starts to healthy: {', '.join(f'{s:.2f} s' for s in starts)} ({owner.name} owns, "
              f"epoch {health['epoch']})")  # fmt: skip

        run = f"tk{int(time.time())}"
        client = Client(token, args.every, next(i for i in instances if i is not owner), run)
        sender = asyncio.create_task(client.send_all())
        try:
            await asyncio.sleep(2)
            for n in range(1, args.rounds + 1):
                await one_round(n, instances, client, rounds, http)
        finally:
            client.stop()
            await sender
        memory = {i.name: i.memory() for i in instances}
        final_owner, _ = await wait_for_owner(instances, http)
        for instance in instances:
            instance.stop()
    promotions = [s for i in instances for s in owner_log_seconds(i)]
    print(f"  memory at the end ({final_owner.name} owns): "
          + ", ".join(f"{n} RSS {m['VmRSS'] / 2**20:,.0f} MiB (peak {m['VmHWM'] / 2**20:,.0f})"
                      for n, m in memory.items()))  # fmt: skip
    report(rounds, promotions, args)
    report_messages(client, rounds, await check_once(args.database, run))


def report(rounds: Rounds, promotions: list[float], args: argparse.Namespace) -> None:
    takeovers, seen, restarts, catch_ups = rounds.takeovers, rounds.seen_owner, rounds.restarts, rounds.catch_ups
    print(f"takeover, from SIGKILL of the owner to the first message sent after it and acknowledged "
          f"({len(takeovers)} rounds):")  # fmt: skip
    print(f"  each: {', '.join(f'{t:.2f}' for t in takeovers)} s")
    print(f"  p50 {percentile(takeovers, 0.5):.2f} s, p99 {percentile(takeovers, 0.99):.2f} s, "
          f"max {max(takeovers):.2f} s, mean {statistics.fmean(takeovers):.2f} s (target p99 <= 5 s)")  # fmt: skip
    print(f"  new owner seen on /healthz: p50 {percentile(seen, 0.5):.2f} s, max {max(seen):.2f} s "
          f"after the kill; the promotion itself (fence, catch-up, service start; 'owner now' log): "
          f"p50 {percentile(promotions, 0.5) * 1000:.0f} ms, max {max(promotions) * 1000:.0f} ms")  # fmt: skip
    print(f"  restarted instance, process start to healthy (restore of {args.threads:,} threads): "
          f"p50 {percentile(restarts, 0.5):.2f} s, max {max(restarts):.2f} s; then caught up in "
          f"p50 {percentile(catch_ups, 0.5):.2f} s, max {max(catch_ups):.2f} s")  # fmt: skip


def report_messages(client: Client, rounds: Rounds, once: tuple[int, int, int]) -> None:
    acked = [s for s in client.sent if s.acked is not None]
    statuses: dict[int, int] = {}
    for s in acked:
        statuses[s.status or 0] = statuses.get(s.status or 0, 0) + 1
    latencies = [s.acked - s.sent for s in acked if s.acked is not None]
    print(f"  messages: {len(client.sent):,} sent, {len(acked):,} acknowledged {statuses}; client retries "
          f"{client.errors}; latency p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies):.2f} s")  # fmt: skip
    print("  the slowest (sent, acknowledged: seconds after the last kill before each; tries):")
    for s in sorted(acked, key=lambda s: s.sent - (s.acked or 0.0))[:5]:
        kill = max((k for k in rounds.kills if k <= (s.acked or 0.0)), default=s.sent)
        print(f"    {s.sent - kill:+.2f} s, {(s.acked or 0.0) - kill:+.2f} s; {s.tries} tries")
    opened, single, most = once
    print(f"  exactly once: {opened:,} threads opened by the run, {single:,} with exactly one message, "
          f"at most {most} thread per client (expected {len(acked):,}, {len(acked):,}, 1)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1_500)
    parser.add_argument("--threads", type=int, default=5_000, help="open threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=float, default=0.05, help="seconds between the client's messages")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/onduty_bench_takeover")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    uvloop.run(main(parser.parse_args()))
