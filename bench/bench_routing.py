"""Routing at scale: 15,000 agents and a deep queue (docs/performance.md, routing at scale).

Prints, for each strategy:
- queue fill: client messages per second into a queue nobody serves (R6);
- drain: routing decisions per second when capacity appears, with the queue
  500,000 deep and 15,000 agents (each decision pops the queue, picks an agent
  and assigns);
- steady routing: assignments per second when threads close and new ones
  arrive one at a time with 15,000 agents busy (the service's hot path);
- memory held per agent and per queued thread (tracemalloc, engine only).

Run: .venv/bin/python bench/bench_routing.py [--agents N] [--threads N] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.settings import Settings
from onduty.domain.types import Actor, State, Strategy


def build(agents: int, strategy: Strategy, capacity: int) -> Engine:
    engine = Engine(Settings(strategy=strategy, default_capacity=capacity, response_timeout=10**6))
    for agent_id in range(1, agents + 1):
        engine.handle(c.RegisterAgent(agent_id, f"team-{agent_id % 50}"), 0.0)
        engine.handle(c.Login(agent_id), 0.0)
    return engine


def fill(engine: Engine, threads: int, t0: float) -> float:
    start = time.perf_counter()
    for i in range(threads):
        engine.handle(c.ReceiveClientMessage(f"client-{i}", "hello"), t0 + i * 1e-3)
    return threads / (time.perf_counter() - start)


def drain(engine: Engine, agents: int, now: float) -> tuple[float, int]:
    """Agents become active one by one; each activation routes up to `capacity` threads."""
    assigned = 0
    start = time.perf_counter()
    for agent_id in range(1, agents + 1):
        events = engine.handle(c.SetStatus(agent_id, State.ACTIVE, None, Actor.agent(agent_id)), now)
        assigned += len(events) - 1
    elapsed = time.perf_counter() - start
    return assigned / elapsed, assigned


def steady(engine: Engine, rounds: int, now: float) -> float:
    """Close the oldest held thread, then a new client writes: one routing decision each."""
    ws = engine.workspace
    held = [t.id for t in ws.threads.values() if t.agent_id is not None]
    rounds = min(rounds, len(held))
    start = time.perf_counter()
    for i in range(rounds):
        thread = ws.threads[held[i]]
        assert thread.agent_id is not None
        engine.handle(c.CloseThread(thread.id, Actor.agent(thread.agent_id)), now + i)
        engine.handle(c.ReceiveClientMessage(f"steady-{i}", "hi"), now + i)
    return rounds / (time.perf_counter() - start)


def memory(agents: int, threads: int) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    engine = build(agents, Strategy.LEAST_BUSY, 3)
    with_agents = tracemalloc.get_traced_memory()[0]
    for i in range(threads):
        engine.handle(c.ReceiveClientMessage(f"client-{i}", "hello"), 1.0)
    with_threads = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (with_agents - base) / agents, (with_threads - with_agents) / threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=15_000)
    parser.add_argument("--threads", type=int, default=500_000)
    parser.add_argument("--capacity", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the size, for a smoke run")
    args = parser.parse_args()
    agents, threads = args.agents, args.threads
    if args.quick:
        agents, threads = agents // 10, threads // 10

    print(f"routing bench: {agents:,} agents, {threads:,} queued threads, capacity {args.capacity}")
    print(f"{'strategy':<14}{'fill msg/s':>14}{'drain dec/s':>14}{'assigned':>11}{'steady dec/s':>15}")
    for strategy in Strategy:
        engine = build(agents, strategy, args.capacity)
        fill_rate = fill(engine, threads, 1.0)
        drain_rate, assigned = drain(engine, agents, 10_000.0)
        steady_rates = [steady(engine, 5_000, 20_000.0 + k * 10_000) for k in range(3)]
        print(
            f"{strategy.value:<14}{fill_rate:>14,.0f}{drain_rate:>14,.0f}{assigned:>11,}"
            f"{statistics.median(steady_rates):>15,.0f}"
        )
        del engine
        gc.collect()

    per_agent, per_thread = memory(agents, min(threads, 100_000))
    print(f"memory: {per_agent:,.0f} bytes per agent, {per_thread:,.0f} bytes per queued thread (tracemalloc)")


if __name__ == "__main__":
    main()
