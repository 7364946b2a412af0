"""Dashboards on several instances: event streams that follow the instances' deaths.

A `Dashboard` is a supervisor's or an admin's page: it holds `GET /api/v1/events` open
on one instance and keeps every event id it receives. When that instance dies (or stops
answering its pings: paused), it reconnects to another instance with `after=<the last id
it saw>`, as the pages do. `stream_problems` then judges what it received against the
journal: in order, no duplicate, and exactly the events its user may see (may_see, the
stream's own rule) from where it started, with no gap across the reconnections.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from onduty.journal import StoredEvent
from onduty.service.stream_filter import may_see
from onduty.storage.users import User
from tests.integration.crash_site import Person
from tests.integration.instance_site import Instance, InstancesSite, instance_stream_url

PING_EVERY = 1.0  # seconds: a paused instance is left within PING_EVERY + PING_WAIT
PING_WAIT = 4.0


@dataclass(slots=True)
class Dashboard:
    site: InstancesSite
    person: Person
    user: User  # for may_see: role and team
    home: Instance  # the instance it opens on first
    start: int  # the journal's last id when it opened: it must see everything after
    ids: list[int] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)  # each instance it received from, in order
    closes: list[str] = field(default_factory=list)  # why each connection ended
    _task: asyncio.Task[None] | None = None

    @property
    def last(self) -> int:
        return self.ids[-1] if self.ids else self.start

    @property
    def name(self) -> str:
        return f"{self.person.username}'s dashboard (opened on {self.home.name})"

    def open(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        instance: Instance | None = self.home
        while True:
            if instance is None or not instance.running:
                instance = self._another(None)
                if instance is None:
                    await asyncio.sleep(0.05)
                    continue
            try:
                await self._follow(instance)
                self.closes.append(f"{instance.name}: closed by the server")
            except (OSError, WebSocketException, TimeoutError) as error:
                self.closes.append(f"{instance.name}: {type(error).__name__}")
            instance = self._another(instance)
            await asyncio.sleep(0.05)

    def _another(self, left: Instance | None) -> Instance | None:
        usable = [i for i in self.site.running if i.name not in self.site.out_of_rotation]
        others = [i for i in usable if left is None or i.name != left.name]
        choice = others or usable
        return self.site.rng.choice(choice) if choice else None

    async def _follow(self, instance: Instance) -> None:
        """One connection: the backlog after `last`, then live events, until it ends."""
        async with connect(
            instance_stream_url(instance, self.last),
            additional_headers={"Authorization": f"Bearer {self.person.token}"},
            max_size=None,
            open_timeout=5,
            ping_interval=PING_EVERY,
            ping_timeout=PING_WAIT,
        ) as ws:
            self.connections.append(instance.name)
            async for text in ws:
                event = json.loads(text)
                if event["id"] is not None:  # stream.ready has none
                    self.ids.append(int(event["id"]))


def expected_ids(dashboard: Dashboard, journal: list[StoredEvent], through: int) -> list[int]:
    """The journal's ids its user may see, after where it started, up to `through`."""
    return [e.id for e in journal if dashboard.start < e.id <= through and may_see(dashboard.user, e)]


def stream_problems(dashboard: Dashboard, journal: list[StoredEvent], through: int) -> list[str]:
    """What the dashboard received up to `through` against the journal: the same ids, in
    order, once each. Each problem names the dashboard, its connections and the ids."""
    got = [i for i in dashboard.ids if i <= through]
    wanted = expected_ids(dashboard, journal, through)
    where = f"{dashboard.name}, connections {dashboard.connections}"
    problems = []
    disorder = [(a, b) for a, b in itertools.pairwise(got) if b <= a]
    if disorder:
        problems.append(f"{where}: out of order or repeated: {disorder[:10]}")
    missing = sorted(set(wanted) - set(got))
    if missing:
        problems.append(f"{where}: missed {len(missing)} of {len(wanted)} events it may see: {missing[:20]}")
    extra = sorted(set(got) - set(wanted))
    if extra:
        problems.append(f"{where}: received {len(extra)} events it may not see (or not in the journal): {extra[:20]}")
    return problems


async def caught_up(dashboards: list[Dashboard], journal: list[StoredEvent], through: int, timeout: float) -> None:
    """Until every dashboard has received the last event up to `through` it may see (or
    `timeout` passed: the audit then says what is missing)."""
    end = time.monotonic() + timeout
    for dashboard in dashboards:
        wanted = expected_ids(dashboard, journal, through)
        target = wanted[-1] if wanted else dashboard.start
        while dashboard.last < target and time.monotonic() < end:
            await asyncio.sleep(0.05)


def user_of(person: Person, team: str | None) -> User:
    return User(person.id, person.username, person.username, person.role, team, True)
