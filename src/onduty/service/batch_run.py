"""One batch through the engine: the one code path that decides state, on the owner and
on every follower.

The owner's writer runs each batch through a `BatchRun` and logs what it says it
applied (`at`, `tick`, `applied`); a follower runs the logged batch through a
`BatchRun` of its own. The engine is deterministic, so the same state, the same `at`
and the same commands give the same state on both.

Only applied commands are logged: a command the engine refuses raises DomainError
before changing anything (engine.py), and one refused by the caller's check never
reaches the engine, so leaving either out replays exactly what happened.
"""

from __future__ import annotations

from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.events import Event
from onduty.domain.types import Instant


class BatchRun:
    __slots__ = ("applied", "at", "engine", "keys", "tick", "tick_events")

    def __init__(self, engine: Engine, now: Instant, *, tick: bool) -> None:
        """Starts the batch: the due timers fire first when `tick`."""
        self.engine = engine
        # The engine's own time for the whole batch: it never runs backwards, whatever the
        # caller's clock does, and a tick that changed nothing else may have moved it. Logged
        # as it is, a follower needs no batch but those that changed something.
        self.at: Instant = max(now, engine.workspace.clock)
        self.tick = tick
        self.applied: list[c.Command] = []
        self.keys: list[str | None] = []  # each applied command's idempotency key, or None
        self.tick_events: list[Event] = engine.tick(self.at) if tick else []

    def handle(self, command: c.Command, key: str | None = None) -> list[Event]:
        """Applies `command`; raises DomainError (and changes nothing) when it is refused."""
        events = self.engine.handle(command, self.at)
        self.applied.append(command)
        self.keys.append(key)
        return events

    @property
    def changed(self) -> bool:
        """Whether the batch may have changed the engine: a timer fired or a command was applied.
        A tick that fired nothing only moved the engine's time (the next batch's `at` carries
        it) and dropped stale timer entries (skipped anyway when met)."""
        return bool(self.tick_events or self.applied)
