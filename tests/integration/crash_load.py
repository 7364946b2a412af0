"""Mixed load on a crash site: agents changing status (breaks that need approval included),
answering, closing and transferring; clients writing in; a supervisor changing statuses,
deciding approvals, closing and transferring. Every task draws from its own seeded
random generator; what the server does with the calls depends on timing, and every call
it acknowledges is recorded by the site (crash_site.ApiSite.call).

Also the floor's making (`open_floor`) and S6's sentinels: an agent left with a timer
pending just before a fault (`arm_sentinel`), whose kick-out after it shows the timer
survived (`kicked_out`, crash_audit.sentinel_problems)."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from typing import Any

from tests.integration.crash_site import WAIT, ApiSite, Person, poll

APPROVAL_REASON = "long_break"  # a custom reason that requires approval (S1, S4)

# What agents ask for, weighted towards `active` so threads keep flowing.
AGENT_TARGETS: list[tuple[str, str | None]] = [
    *[("active", None)] * 5,
    ("active_own_clients", None),
    ("not_ready", None),
    ("inactive", "short_break"),
    ("inactive", "lunch"),
    ("inactive", APPROVAL_REASON),
]
SUPERVISOR_TARGETS: list[tuple[str, str | None]] = [
    ("active", None),
    ("active", None),
    ("not_ready", None),
    ("inactive", "meeting"),
    ("inactive", APPROVAL_REASON),
]


def status_body(target: tuple[str, str | None]) -> dict[str, Any]:
    state, reason = target
    return {"state": state} if reason is None else {"state": state, "reason": reason}


SENTINEL_CLIENT = "sentinel-"  # the clients whose threads arm the sentinels


@dataclass
class Floor:
    site: ApiSite
    supervisor: Person
    integration: Person
    agents: list[Person]  # the load's agents (they answer their threads)
    lazy: Person  # an agent who never answers: S6 prompts and kicks them out during the load
    texts: itertools.count[int]

    def text(self, who: str) -> str:
        return f"{who} #{next(self.texts)}"

    async def own_threads(self, agent: Person, state: str) -> list[dict[str, Any]]:
        response = await self.site.call(agent, "GET", "/threads", agent_id=agent.id, state=state, limit=20)
        return response.json()["items"] if response is not None and response.status_code == 200 else []

    # -- the tasks ---------------------------------------------------------------

    async def agent(self, me: Person, rng: random.Random) -> None:
        others = [a for a in (*self.agents, self.lazy) if a.id != me.id]
        site = self.site
        while True:
            roll = rng.random()
            if roll < 0.30:
                await site.call(me, "PUT", "/me/status", status_body(rng.choice(AGENT_TARGETS)))
            elif roll < 0.55:
                waiting = await self.own_threads(me, "assigned")
                if waiting:
                    thread = rng.choice(waiting)
                    await site.call(me, "POST", f"/threads/{thread['id']}/messages", {"text": self.text(me.username)})
            elif roll < 0.75:
                talking = await self.own_threads(me, "in_progress")
                if talking:
                    await site.call(me, "POST", f"/threads/{rng.choice(talking)['id']}/close")
            elif roll < 0.83:
                held = await self.own_threads(me, rng.choice(["assigned", "in_progress"]))
                if held:
                    target = rng.choice(others)
                    body = {"agent_id": target.id}
                    await site.call(me, "POST", f"/threads/{rng.choice(held)['id']}/transfer", body)
            elif roll < 0.95:
                seen = await site.call(me, "GET", "/me")
                if seen is not None and seen.status_code == 200 and seen.json()["agent"]["prompt_deadline"]:
                    await site.call(me, "POST", "/me/continue")  # S6: "continue working?" yes
            elif roll < 0.97:
                await site.call(me, "POST", "/me/logout")
                await site.call(me, "POST", "/me/login")
            await asyncio.sleep(rng.uniform(0, 0.02))

    async def lazy_agent(self, me: Person, rng: random.Random) -> None:
        """Active, never answering: S6 asks "continue working?"; they say yes to about half of
        the prompts and are kicked out by the others, then come back."""
        site, decided = self.site, None
        while True:
            seen = await site.call(me, "GET", "/me")
            if seen is not None and seen.status_code == 200:
                status, prompt = seen.json()["status"], seen.json()["agent"]["prompt_deadline"]
                if status["state"] != "active" and (status["state"] == "kicked_out" or rng.random() < 0.1):
                    await site.call(me, "PUT", "/me/status", {"state": "active"})
                elif prompt is not None and prompt != decided:
                    decided = prompt  # one decision per prompt
                    if rng.random() < 0.5:
                        await site.call(me, "POST", "/me/continue")
            await asyncio.sleep(rng.uniform(0.05, 0.15))

    async def clients(self, rng: random.Random, name: str) -> None:
        while True:
            client = f"{name}-{rng.randrange(25)}"
            await self.site.call(self.integration, "POST", "/threads", {"client_id": client, "text": self.text(client)})
            await asyncio.sleep(rng.uniform(0.02, 0.08))

    async def supervisor_task(self, rng: random.Random) -> None:
        site, me = self.site, self.supervisor
        everyone = [*self.agents, self.lazy]
        while True:
            roll = rng.random()
            if roll < 0.35:
                agent = rng.choice(everyone)
                await site.call(me, "PUT", f"/agents/{agent.id}/status", status_body(rng.choice(SUPERVISOR_TARGETS)))
            elif roll < 0.65:
                pending = await site.call(me, "GET", "/approvals", state="pending")
                if pending is not None and pending.status_code == 200 and pending.json():
                    request = rng.choice(pending.json())
                    decision = "approve" if rng.random() < 0.6 else "reject"
                    await site.call(me, "POST", f"/approvals/{request['id']}/{decision}")
            elif roll < 0.80:
                talking = await site.call(me, "GET", "/threads", state="in_progress", limit=50)
                if talking is not None and talking.status_code == 200 and talking.json()["items"]:
                    await site.call(me, "POST", f"/threads/{rng.choice(talking.json()['items'])['id']}/close")
            else:
                queue = await site.call(me, "GET", "/queue", limit=20)
                # Not a sentinel's thread: arming one transfers it to the sentinel, and a transfer
                # of the load's read from the queue just before would take it away again.
                waiting = [] if queue is None or queue.status_code != 200 else queue.json()["items"]
                waiting = [t for t in waiting if not t["client_id"].startswith(SENTINEL_CLIENT)]
                if waiting:
                    thread = rng.choice(waiting)
                    body = {"agent_id": rng.choice(everyone).id}  # R3: whatever their status
                    await site.call(me, "POST", f"/threads/{thread['id']}/transfer", body)
            await asyncio.sleep(rng.uniform(0.005, 0.03))

    def start(self, seed: int) -> list[asyncio.Task[None]]:
        """Every task of the load, each with a generator of its own drawn from `seed`."""
        rngs = (random.Random(f"{seed}-{i}") for i in itertools.count())
        tasks = [asyncio.create_task(self.agent(a, next(rngs))) for a in self.agents]
        tasks.append(asyncio.create_task(self.lazy_agent(self.lazy, next(rngs))))
        tasks += [asyncio.create_task(self.clients(next(rngs), f"client{i}")) for i in range(2)]
        tasks.append(asyncio.create_task(self.supervisor_task(next(rngs))))
        return tasks


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
    if failures:
        raise failures[0]


async def open_floor(
    site: ApiSite, *, sentinels: int, response_timeout: int, prompt_timeout: int
) -> tuple[Floor, list[Person]]:
    """Settings for the load (S6 timeouts short, R4 and S8 off), a reason that needs approval,
    the people (a supervisor, an integration, six agents and a lazy one, all active), and
    `sentinels` agents kept aside for `arm_sentinel`."""
    await site.must(
        site.admin,
        "PATCH",
        "/settings",
        {
            "response_timeout": response_timeout,
            "prompt_timeout": prompt_timeout,
            "client_affinity_timeout": 0,  # R4 off: every new thread goes to the general queue
            "disconnect_grace": 0,  # S8 off: nobody here holds a stream open
        },
    )
    await site.must(
        site.admin, "POST", "/reasons", {"code": APPROVAL_REASON, "label": "Long break", "requires_approval": True}
    )
    supervisor = await site.person("sue", "supervisor")
    integration = await site.person("webchat", "integration")
    agents = [await site.person(f"agent{i}", "agent", capacity=2) for i in range(6)]
    lazy = await site.person("lazy", "agent", capacity=2)
    kept = [await site.person(f"sentinel{k}", "agent") for k in range(sentinels)]
    for agent in (*agents, lazy):
        await site.must(agent, "POST", "/me/login")
        await site.must(agent, "PUT", "/me/status", {"state": "active"})
    return Floor(site, supervisor, integration, agents, lazy, itertools.count()), kept


async def arm_sentinel(site: ApiSite, floor: Floor, sentinel: Person, round_no: int) -> int:
    """S6's timers pending for the sentinel: `active_own_clients` (the router gives them
    nothing, R4 aside) and an unanswered thread transferred to them (R3). Answers the thread."""
    await site.must(sentinel, "POST", "/me/login")
    await site.must(sentinel, "PUT", "/me/status", {"state": "active_own_clients"})
    client = f"{SENTINEL_CLIENT}{round_no}"
    thread = await site.must(floor.integration, "POST", "/threads", {"client_id": client, "text": "hi"})
    await site.must(floor.supervisor, "POST", f"/threads/{thread['id']}/transfer", {"agent_id": sentinel.id})
    thread_id: int = thread["id"]
    return thread_id


async def kicked_out(site: ApiSite, sentinel: Person, timeout: float) -> dict[str, Any]:
    """The sentinel as the API shows them once S6 has kicked them out."""

    async def check() -> Any:
        seen = await site.must(site.admin, "GET", f"/agents/{sentinel.id}")
        return seen if seen["status"]["state"] == "kicked_out" else None

    seen: dict[str, Any] = await poll(check, timeout + WAIT, f"{sentinel.username} kicked out")
    return seen
