"""Simulated threads per wall second: the real engine against a bare M/M/N floor.

    .venv/bin/python bench/bench_simulator.py [--quick] [--strategy NAME]

The floor is the same queue (Poisson arrivals, exponential handling, N
servers, first come first served, the same figures folded in) with no engine
at all: a heap of completions and a deque of waiting arrivals. It draws the
simulator's random numbers in the same order, so both print the same figures:
a check that they simulate the same thing. The ratio says what the engine's
rules cost per thread over the bare bookkeeping.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from onduty.sim.bare import bare_mmn
from onduty.sim.config import STRATEGIES, SimConfig, SimResult
from onduty.sim.erlang import predict
from onduty.sim.simulator import simulate

AGENTS = 100
UTILISATION = 0.9
HANDLE_TIME = 300.0
TARGET = 20.0


@dataclass(frozen=True, slots=True)
class Run:
    threads: int
    waited_fraction: float
    mean_wait_seconds: float
    service_level: float
    occupancy: float


def measure(runs: list[Callable[[int], Run]], seeds: int) -> list[tuple[float, Run]]:
    """For each kind of run: the median threads per wall second over `seeds` seeds, and the
    figures pooled over them (a sanity check that both simulate the same queue). The kinds
    take turns seed by seed, so a busy moment on the machine hits them alike."""
    rates: list[list[float]] = [[] for _ in runs]
    results: list[list[Run]] = [[] for _ in runs]
    for seed in range(1, seeds + 1):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            result = run(seed)
            rates[i].append(result.threads / (time.perf_counter() - start))
            results[i].append(result)
    return [(statistics.median(r), _pooled(rs)) for r, rs in zip(rates, results, strict=True)]


def _pooled(results: list[Run]) -> Run:
    threads = sum(r.threads for r in results)
    return Run(
        threads,
        sum(r.waited_fraction * r.threads for r in results) / threads,
        sum(r.mean_wait_seconds * r.threads for r in results) / threads,
        sum(r.service_level * r.threads for r in results) / threads,
        statistics.mean(r.occupancy for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: fewer, shorter simulations")
    parser.add_argument("--strategy", choices=STRATEGIES, default="least_busy")
    args = parser.parse_args()
    hours, runs = (10.0, 3) if args.quick else (100.0, 5)
    arrivals_per_hour = UTILISATION * AGENTS * 3600.0 / HANDLE_TIME

    def config(seed: int) -> SimConfig:
        return SimConfig(
            agents=AGENTS,
            arrivals_per_hour=arrivals_per_hour,
            handle_time=HANDLE_TIME,
            hours=hours,
            target_seconds=TARGET,
            strategy=args.strategy,  # the floor has no strategy: it takes any free agent
            seed=seed,
        )

    def as_run(result: SimResult) -> Run:
        return Run(
            result.threads, result.waited_fraction, result.mean_wait_seconds, result.service_level, result.occupancy
        )

    def engine_run(seed: int) -> Run:
        return as_run(simulate(config(seed)))

    def bare_run(seed: int) -> Run:
        return as_run(bare_mmn(config(seed)))

    print(
        f"{AGENTS} agents at {UTILISATION:.0%} utilisation ({arrivals_per_hour:g} threads/h, "
        f"{HANDLE_TIME:g} s handling), {hours:g} simulated hours, {args.strategy}, median of {runs} runs"
    )
    (sim, sim_figures), (bare, bare_figures) = measure([engine_run, bare_run], runs)
    erlang = predict(AGENTS, arrivals_per_hour / 3600.0, HANDLE_TIME, TARGET)
    print(f"real engine simulator:  {sim:10,.0f} threads/s  ({_figures(sim_figures)})")
    print(f"bare M/M/N floor:       {bare:10,.0f} threads/s  ({_figures(bare_figures)})")
    print(f"engine / floor:         {sim / bare:10.3f}   (target: at least 0.1; the floor is {bare / sim:.1f}x faster)")
    print(
        f"Erlang C predicts: waited {erlang.p_wait or 0:.3f}, mean wait {erlang.mean_wait_seconds or 0:.2f} s, "
        f"service level {erlang.service_level or 0:.3f}, occupancy {erlang.occupancy:.3f}"
    )


def _figures(run: Run) -> str:
    return (
        f"{run.threads:,} threads, waited {run.waited_fraction:.3f}, mean wait {run.mean_wait_seconds:.2f} s, "
        f"service level {run.service_level:.3f}, occupancy {run.occupancy:.3f}"
    )


if __name__ == "__main__":
    main()
