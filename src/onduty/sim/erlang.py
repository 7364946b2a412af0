"""Erlang C: the textbook M/M/N queue the simulator is checked against.

N servers (agents x capacity), Poisson arrivals, exponential handling with
mean h, first come first served, nobody gives up. With offered load
A = arrivals/s x h erlangs, a steady state exists only while A < N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErlangC:
    """Steady-state predictions. When `overloaded` (A ≥ N) there is no steady state:
    the queue grows without bound, so the waiting figures are None and every
    server ends up busy (occupancy 1)."""

    servers: int
    offered_load: float  # erlangs
    overloaded: bool
    p_wait: float | None  # share of threads that wait at all
    mean_wait_seconds: float | None  # over all threads, waiting or not
    service_level: float | None  # share assigned within the target
    occupancy: float  # share of servers busy

    def as_dict(self) -> dict[str, object]:
        return {
            "servers": self.servers,
            "offered_load": self.offered_load,
            "overloaded": self.overloaded,
            "p_wait": self.p_wait,
            "mean_wait_seconds": self.mean_wait_seconds,
            "service_level": self.service_level,
            "occupancy": self.occupancy,
        }


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/N/N, by the recursion B(k) = A·B(k-1) / (k + A·B(k-1)).

    Every step stays in [0, 1], so unlike the closed form (A^N / N! over a sum)
    it neither overflows nor loses precision for thousands of servers.
    """
    _check(servers, load)
    b = 1.0
    for k in range(1, servers + 1):
        ab = load * b
        b = ab / (k + ab)
    return b


def erlang_c(servers: int, load: float) -> float:
    """P(wait) of M/M/N. At A ≥ N every thread eventually waits, so the limit 1.0."""
    _check(servers, load)
    if load >= servers:
        return 1.0
    b = erlang_b(servers, load)
    return servers * b / (servers - load * (1.0 - b))


def predict(servers: int, arrivals_per_second: float, handle_time: float, target_seconds: float) -> ErlangC:
    """Erlang C's figures for `servers` parallel servers fed at `arrivals_per_second`."""
    if not (handle_time > 0 and math.isfinite(handle_time)):
        raise ValueError(f"handle_time must be a positive number of seconds, got {handle_time}")
    if not (target_seconds >= 0 and math.isfinite(target_seconds)):
        raise ValueError(f"target_seconds must be zero or more, got {target_seconds}")
    load = arrivals_per_second * handle_time
    _check(servers, load)
    if load >= servers:
        return ErlangC(servers, load, True, None, None, None, 1.0)
    p_wait = erlang_c(servers, load)
    spare = servers - load
    return ErlangC(
        servers=servers,
        offered_load=load,
        overloaded=False,
        p_wait=p_wait,
        mean_wait_seconds=p_wait * handle_time / spare,
        # A waiting thread's wait is exponential with rate (N - A)/h.
        service_level=1.0 - p_wait * math.exp(-spare * target_seconds / handle_time),
        occupancy=load / servers,
    )


def _check(servers: int, load: float) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers must be a whole number of at least 1, got {servers!r}")
    if not (load >= 0 and math.isfinite(load)):
        raise ValueError(f"offered load must be a finite number of erlangs, zero or more, got {load}")
