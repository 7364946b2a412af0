"""Why nothing is being routed (W5, R6): `GET /queue` answers `routing`, and the live
`queue.changed` tells it, also when it changes without the queue moving. On SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.integration.api_client import Api, Person
from tests.integration.test_events_ws import is_reason, sentinel, stream


async def routing(api: Api, supervisor: Person) -> tuple[str, int]:
    queue = await api.json(supervisor, "GET", "/queue", expect=200)
    return queue["routing"], queue["length"]


async def client_writes(api: Api, client_id: str) -> dict[str, Any]:
    thread: dict[str, Any] = await api.json(
        api.admin, "POST", "/threads", {"client_id": client_id, "text": "hello"}, expect=201
    )
    return thread


async def test_r6_w5_queue_says_halted_when_nobody_is_active(api: Api) -> None:
    supervisor = await api.person("supervisor")
    assert await routing(api, supervisor) == ("halted", 0)  # nobody at all yet
    agent = await api.person("agent")
    await api.call(agent, "POST", "/me/login", expect=200)  # not ready
    await client_writes(api, "c1")
    assert await routing(api, supervisor) == ("halted", 1)
    await api.call(agent, "PUT", "/me/status", {"state": "active_own_clients"}, expect=200)
    assert await routing(api, supervisor) == ("halted", 1)  # R2: only `active` takes from the queue


async def test_w5_queue_says_at_capacity_not_halted_when_every_active_agent_is_full(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent(capacity=1)
    held = await client_writes(api, "c1")
    assert held["agent_id"] == agent.id
    assert await routing(api, supervisor) == ("at_capacity", 0)  # a thread arriving now would wait
    await client_writes(api, "c2")
    queue = await api.json(supervisor, "GET", "/queue", expect=200)
    assert (queue["routing"], queue["length"]) == ("at_capacity", 1)


async def test_w5_queue_says_flowing_while_an_active_agent_has_room(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent(capacity=1)
    assert await routing(api, supervisor) == ("flowing", 0)
    held = await client_writes(api, "c1")
    assert await routing(api, supervisor) == ("at_capacity", 0)
    await api.call(agent, "POST", f"/threads/{held['id']}/close", expect=200)
    assert await routing(api, supervisor) == ("flowing", 0)


async def test_w5_queue_changed_tells_routing_also_when_the_queue_does_not_move(api: Api) -> None:
    """An agent going active, becoming full, freeing up or leaving changes routing without
    a thread entering or leaving the queue: `queue.changed` says so, once per change; a
    change of status that leaves routing as it was tells nothing."""
    supervisor = await api.person("supervisor")
    agent = await api.person("agent", capacity=1)
    other = await api.person("agent")
    await api.call(agent, "POST", "/me/login", expect=200)
    await api.call(other, "POST", "/me/login", expect=200)
    async with stream(api, supervisor, after=0) as watch:
        await api.call(agent, "PUT", "/me/status", {"state": "active"}, expect=200)  # halted -> flowing
        await api.call(other, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
        held = await client_writes(api, "c1")  # straight to the agent, who is now full
        await api.call(agent, "POST", f"/threads/{held['id']}/close", expect=200)  # frees up
        await api.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
        code = await sentinel(api)
        seen = await watch.until("reason.saved", is_reason(code))
    # Starting and registering agents changed nothing of routing (halted all along).
    assert [e for e in watch.backlog if e["name"] == "queue.changed"] == []
    told = [e["data"] for e in seen if e["name"] == "queue.changed"]
    assert told == [
        {"length": 0, "waiting_for_owner": 0, "routing": "flowing"},
        {"length": 0, "waiting_for_owner": 0, "routing": "at_capacity"},
        {"length": 0, "waiting_for_owner": 0, "routing": "flowing"},
        {"length": 0, "waiting_for_owner": 0, "routing": "halted"},
    ]


async def test_w5_a_thread_that_goes_straight_to_an_agent_tells_the_queue_nothing(api: Api) -> None:
    """Most threads arrive while someone has room: they never stand in the queue, so every
    supervisor's queue view hears nothing of them (their team hears `thread.assigned`). One
    that waits is told as it enters the queue."""
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent(capacity=3)
    async with stream(api, supervisor, after=0) as watch:
        first = await client_writes(api, "c1")
        await client_writes(api, "c2")
        await api.call(agent, "PUT", "/me/status", {"state": "not_ready"}, expect=200)  # finishing: halted
        queued = await client_writes(api, "c3")
        await api.call(agent, "POST", f"/threads/{first['id']}/close", expect=200)
        code = await sentinel(api)
        seen = await watch.until("reason.saved", is_reason(code))
    assert first["agent_id"] == agent.id and queued["agent_id"] is None
    told = [e["data"] for e in seen if e["name"] == "queue.changed"]
    assert told == [
        {"length": 0, "waiting_for_owner": 0, "routing": "halted"},  # the agent stepped away
        {"length": 1, "waiting_for_owner": 0, "routing": "halted"},  # c3 waits
    ]
