"""The simulator's measured figures agree with Erlang C's steady-state predictions.

Method: independent replications. Each load runs REPLICATIONS times with
different seeds; the mean of each figure over the replications is compared
with the prediction, allowing Z standard errors (the standard error estimated
from the replications themselves). With 10 replications the error ratio
follows Student's t with 9 degrees of freedom: |t| > 5 has a two-sided chance
of about 0.0008, so the 16 checks below fail by chance about 1% of the time
for a random choice of seeds (the seeds are fixed, so the test is
deterministic).

Each replication starts with nobody waiting, so its waits run a little low
until the queue reaches steady state, after about A / (sqrt(N) - sqrt(A))^2 threads.
At THREADS per replication that bias is at most about 4% of the mean wait
(at 90% utilisation), under one standard error.

Budget: about 400,000 simulated threads, a few seconds.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import pytest

from onduty.sim.config import SimConfig
from onduty.sim.simulator import simulate

REPLICATIONS = 10
THREADS = 10_000  # expected threads per replication
Z = 5.0


@dataclass(frozen=True)
class Load:
    agents: int
    capacity: int
    utilisation: float
    strategy: str = "least_busy"
    handle_time: float = 300.0

    def config(self, seed: int) -> SimConfig:
        arrivals_per_hour = self.utilisation * self.agents * self.capacity * 3600 / self.handle_time
        return SimConfig(
            agents=self.agents,
            capacity=self.capacity,
            arrivals_per_hour=arrivals_per_hour,
            handle_time=self.handle_time,
            hours=THREADS / arrivals_per_hour,
            target_seconds=20,
            strategy=self.strategy,
            seed=seed,
        )


LOADS = [
    pytest.param(Load(agents=10, capacity=1, utilisation=0.5), id="10x1-at-50%"),
    pytest.param(Load(agents=10, capacity=1, utilisation=0.75, strategy="longest_idle"), id="10x1-at-75%"),
    pytest.param(Load(agents=10, capacity=1, utilisation=0.9), id="10x1-at-90%"),
    pytest.param(Load(agents=4, capacity=3, utilisation=0.8, strategy="round_robin"), id="4x3-at-80%"),
]

FIGURES = ("waited_fraction", "mean_wait_seconds", "service_level", "occupancy")
PREDICTIONS = ("p_wait", "mean_wait_seconds", "service_level", "occupancy")


@pytest.mark.parametrize("load", LOADS)
def test_r1_r7_measured_figures_agree_with_erlang_c(load: Load) -> None:
    """R1 (oldest first) and R7 (nobody idle while a thread waits) make the team an M/M/N
    first-come-first-served queue, which is what Erlang C describes."""
    runs = [simulate(load.config(seed)) for seed in range(1, REPLICATIONS + 1)]
    erlang = runs[0].erlang_c
    assert not erlang.overloaded
    assert all(run.answered == run.threads for run in runs)
    report = []
    for figure, prediction in zip(FIGURES, PREDICTIONS, strict=True):
        values = [float(getattr(run, figure)) for run in runs]
        mean = statistics.fmean(values)
        standard_error = statistics.stdev(values) / REPLICATIONS**0.5
        predicted = getattr(erlang, prediction)
        assert standard_error > 0
        report.append(f"{figure}: measured {mean:.4f} ± {standard_error:.4f}, Erlang C {predicted:.4f}")
        assert abs(mean - predicted) <= Z * standard_error, "\n".join(report)
