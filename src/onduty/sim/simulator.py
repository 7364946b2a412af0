"""The simulator: the real engine on a virtual clock that jumps to the next event.

Simulated agents are `active` the whole time, answer a thread the instant it
is assigned (so S6 never prompts them) and close it after an exponential
handling time. Clients arrive as a Poisson stream, each a new client. The
figures come from the engine's own events, so they measure the router as it
runs in the service.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.events import Event, ThreadAssigned, ThreadClosed, ThreadCreated
from onduty.domain.settings import Settings
from onduty.domain.types import Actor, Instant, State, Strategy
from onduty.sim.config import SimConfig, SimResult, random_streams

# Called now and then with (simulated seconds done, simulated seconds in all).
Progress = Callable[[float, float], None]

_PROGRESS_EVERY = 4096  # clock steps between progress calls: cheap, and still smooth on screen
_TEAM = "sim"
_ANSWER = "Hello, how can I help?"
_MESSAGE = "Hi, I need help."


def simulate(config: SimConfig, progress: Progress | None = None) -> SimResult:
    engine = _staffed_engine(config)
    tally = _Tally(config.horizon, config.target_seconds)
    horizon = config.horizon
    arrivals, handling = random_streams(config.seed)
    next_gap, next_handle = arrivals.expovariate, handling.expovariate
    arrival_rate = config.arrivals_per_hour / 3600.0
    handle_rate = 1.0 / config.handle_time
    actors = [Actor.agent(agent_id) for agent_id in range(config.agents + 1)]  # by agent id; 0 unused
    closes: list[tuple[Instant, int, int]] = []  # (when, thread id, agent id)
    arrived = 0
    steps = 0
    next_arrival = next_gap(arrival_rate)
    while True:
        deadline = engine.next_deadline()
        if deadline is None:
            deadline = math.inf
        next_close = closes[0][0] if closes else math.inf
        now = min(next_arrival, next_close, deadline)
        # After the arrivals stop, run only until every thread has reached an agent.
        if now > horizon and (not tally.waiting or now == math.inf):
            break
        if deadline == now:  # timers fire before the commands of the same instant
            tally.absorb(engine.tick(now), now)
        elif next_close == now:
            _, thread_id, agent_id = heapq.heappop(closes)
            tally.absorb(engine.handle(c.CloseThread(thread_id, actors[agent_id]), now), now)
        else:
            arrived += 1
            tally.absorb(engine.handle(c.ReceiveClientMessage(f"client-{arrived}", _MESSAGE), now), now)
            next_arrival = now + next_gap(arrival_rate)
            if next_arrival > horizon:
                next_arrival = math.inf
        while tally.assigned:  # answer at once, close after the handling time
            thread_id, agent_id = tally.assigned.pop()
            tally.absorb(engine.handle(c.Answer(thread_id, agent_id, _ANSWER), now), now)
            heapq.heappush(closes, (now + next_handle(handle_rate), thread_id, agent_id))
        if progress is not None:
            steps += 1
            if steps % _PROGRESS_EVERY == 0:
                progress(min(now, horizon), horizon)
    if progress is not None:
        progress(horizon, horizon)
    return tally.result(config, arrived)


class _Tally:
    """The figures, folded in from the engine's events as they come: nothing is kept per event."""

    __slots__ = (
        "answered",
        "area",
        "assigned",
        "closed",
        "end",
        "held",
        "horizon",
        "last",
        "max_wait",
        "target",
        "wait_sum",
        "waited",
        "waiting",
        "within_target",
    )

    def __init__(self, horizon: float, target: float) -> None:
        self.horizon = horizon
        self.target = target
        self.waiting: dict[int, Instant] = {}  # thread id -> arrival, until first assigned
        self.assigned: list[tuple[int, int]] = []  # (thread, agent) given out and not answered yet
        self.answered = 0
        self.waited = 0
        self.within_target = 0
        self.wait_sum = 0.0
        self.max_wait = 0.0
        self.closed = 0
        self.held = 0  # threads held by agents right now
        self.area = 0.0  # ∫ held dt over [0, horizon]
        self.last = 0.0  # where `area` has got to
        self.end = 0.0

    def absorb(self, events: list[Event], now: Instant) -> None:
        """Fold in one command's events; assignments join `assigned`, for the agents to answer."""
        held = 0  # change in threads held, all at `now`
        changed = False
        for event in events:
            if isinstance(event, ThreadAssigned):
                held += 1
                changed = True
                self.assigned.append((event.thread_id, event.agent_id))
                arrival = self.waiting.pop(event.thread_id, None)
                if arrival is not None:  # first assignment: the thread's wait ends
                    wait = now - arrival
                    self.answered += 1
                    self.wait_sum += wait
                    if wait > 0:
                        self.waited += 1
                        self.max_wait = max(self.max_wait, wait)
                    if wait <= self.target:
                        self.within_target += 1
                    self.end = now
            elif isinstance(event, ThreadCreated):
                self.waiting[event.thread_id] = now
            elif isinstance(event, ThreadClosed) and event.agent_id is not None:
                held -= 1
                changed = True
                self.closed += 1
        if changed:
            self._held_changes(now, held)

    def _held_changes(self, now: Instant, delta: int) -> None:
        t = min(now, self.horizon)
        self.area += self.held * (t - self.last)
        self.last = t
        self.held += delta

    def result(self, config: SimConfig, threads: int) -> SimResult:
        self._held_changes(self.horizon, 0)
        # With no thread at all nobody waited and nobody missed the target.
        per_thread = 1.0 / threads if threads else 0.0
        return SimResult(
            config=config,
            threads=threads,
            answered=self.answered,
            closed=self.closed,
            waited_fraction=self.waited * per_thread,
            mean_wait_seconds=self.wait_sum * per_thread,
            max_wait_seconds=self.max_wait,
            service_level=self.within_target * per_thread if threads else 1.0,
            occupancy=self.area / (self.horizon * config.servers),
            end_seconds=self.end,
            erlang_c=config.erlang_c(),
        )


def _staffed_engine(config: SimConfig) -> Engine:
    # Every simulated client is new, so R4 ownership can never route anything; a zero
    # affinity window lets the engine forget each client at once and keeps memory flat
    # however long the run (the default 24 h window would hold every client of the day).
    settings = Settings(
        strategy=Strategy(config.strategy), default_capacity=config.capacity, client_affinity_timeout=0.0
    )
    engine = Engine(settings)
    for agent_id in range(1, config.agents + 1):
        engine.handle(c.RegisterAgent(agent_id, _TEAM), 0.0)
        engine.handle(c.Login(agent_id), 0.0)
        engine.handle(c.SetStatus(agent_id, State.ACTIVE, None, Actor.agent(agent_id)), 0.0)
    return engine
