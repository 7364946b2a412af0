"""The textbook M/M/N queue with no engine, on the simulator's own random draws.

Two uses: the floor the simulator's speed is compared with (bench/), and an
independent check of its figures (tests/): same draws, same queue, so the two
must agree thread for thread. Kept as lean as plain Python allows, so that the
floor is a fair one.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from onduty.sim.config import SimConfig, SimResult, random_streams


def bare_mmn(config: SimConfig) -> SimResult:
    servers, horizon, target = config.servers, config.horizon, config.target_seconds
    arrivals, handling = random_streams(config.seed)
    next_gap, next_handle = arrivals.expovariate, handling.expovariate
    arrival_rate, handle_rate = config.arrivals_per_hour / 3600.0, 1.0 / config.handle_time
    free = servers
    queue: deque[float] = deque()  # arrival instants of waiting threads
    closes: list[float] = []
    threads = waited = within = 0
    wait_sum = max_wait = area = last = 0.0
    next_arrival = next_gap(arrival_rate)
    if next_arrival > horizon:
        next_arrival = math.inf
    while True:
        next_close = closes[0] if closes else math.inf
        now = min(next_arrival, next_close)
        if now > horizon and not queue:
            break
        clipped = min(now, horizon)
        area += (servers - free) * (clipped - last)
        last = clipped
        if next_close <= next_arrival:
            heapq.heappop(closes)
            if queue:  # the freed server takes the oldest waiting thread
                wait = now - queue.popleft()
                wait_sum += wait
                waited += wait > 0
                within += wait <= target
                max_wait = max(max_wait, wait)
                heapq.heappush(closes, now + next_handle(handle_rate))
            else:
                free += 1
        else:
            threads += 1
            if free:
                free -= 1
                within += 1
                heapq.heappush(closes, now + next_handle(handle_rate))
            else:
                queue.append(now)
            next_arrival = now + next_gap(arrival_rate)
            if next_arrival > horizon:
                next_arrival = math.inf
    area += (servers - free) * (horizon - last)
    per_thread = 1.0 / threads if threads else 0.0
    return SimResult(
        config=config,
        threads=threads,
        answered=threads,
        closed=0,
        waited_fraction=waited * per_thread,
        mean_wait_seconds=wait_sum * per_thread,
        max_wait_seconds=max_wait,
        service_level=within * per_thread if threads else 1.0,
        occupancy=area / (horizon * servers),
        end_seconds=0.0,
        erlang_c=config.erlang_c(),
    )
