"""Threads and routing through the API (R1-R8), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.integration.api_client import Api
from tests.integration.flows import answer, client_says, queue, queue_ids, row, set_status, thread


async def test_r1_queue_in_routing_order_priority_first_then_arrival(api: Api) -> None:
    supervisor = await api.person("supervisor")
    first = await client_says(api, "c1")
    await api.advance(1)
    urgent = await client_says(api, "c2", priority=5)
    await api.advance(1)
    low = await client_says(api, "c3", priority=-5)
    await api.advance(1)
    later = await client_says(api, "c4")
    for queued in (first, urgent, low, later):
        assert (queued["state"], queued["agent_id"]) == ("queued", None)
    assert urgent["priority"] == 5
    waiting = await api.json(supervisor, "GET", "/queue", expect=200)
    assert [i["id"] for i in waiting["items"]] == [urgent["id"], first["id"], later["id"], low["id"]]
    assert waiting["length"] == 4
    assert waiting["oldest_wait_seconds"] == 3
    assert [i["waiting_seconds"] for i in waiting["items"]] == [2, 3, 0, 1]
    limited = await api.json(supervisor, "GET", "/queue", params={"limit": 2}, expect=200)
    assert [i["id"] for i in limited["items"]] == [urgent["id"], first["id"]]
    assert limited["length"] == 4
    # A second message from the same client joins the open thread, not the queue.
    again = await client_says(api, "c1", "still there?")
    assert again["id"] == first["id"]
    assert [m["text"] for m in again["messages"]] == ["hello", "still there?"]

    # The router hands them out in that order.
    agent = await api.ready_agent(capacity=2)
    assert (await thread(api, urgent["id"]))["agent_id"] == agent.id
    assert (await thread(api, first["id"]))["agent_id"] == agent.id
    assert await queue_ids(api) == [later["id"], low["id"]]


async def test_r2_least_busy_spreads_threads_and_skips_agents_who_are_not_active(api: Api) -> None:
    settings = await api.json(api.admin, "GET", "/settings", expect=200)
    assert (settings["strategy"], settings["default_capacity"]) == ("least_busy", 3)
    one = await api.ready_agent()
    two = await api.ready_agent()
    own = await api.ready_agent()
    await set_status(api, own, "active_own_clients")
    preparing = await api.person("agent")
    await api.call(preparing, "POST", "/me/login", expect=200)
    resting = await api.ready_agent()
    await set_status(api, resting, "inactive", "short_break")

    threads = [await client_says(api, f"c{n}") for n in range(7)]
    holders = Counter(th["agent_id"] for th in threads)
    # Fewest threads first, then longest since the last assignment: they alternate; capacity 3 each.
    assert [th["agent_id"] for th in threads[:6]] == [one.id, two.id] * 3
    assert holders == {one.id: 3, two.id: 3, None: 1}
    assert await queue_ids(api) == [threads[6]["id"]]
    for agent, load in [(one, 3), (two, 3), (own, 0), (preparing, 0), (resting, 0)]:
        assert (await row(api, agent))["threads"] == load
    # Room again: the waiting thread goes to whoever has it.
    await api.call(two, "POST", f"/threads/{threads[1]['id']}/close", expect=200)
    assert (await thread(api, threads[6]["id"]))["agent_id"] == two.id
    assert await queue_ids(api) == []


async def test_r2_per_agent_capacity_and_other_strategies(api: Api) -> None:
    small = await api.ready_agent(capacity=1)
    big = await api.ready_agent(capacity=5)
    assert (await row(api, small))["capacity"] == 1
    first, second, third = [await client_says(api, f"c{n}") for n in range(3)]
    assert [first["agent_id"], second["agent_id"], third["agent_id"]] == [small.id, big.id, big.id]
    changed = await api.json(api.admin, "PATCH", "/settings", {"strategy": "round_robin"}, expect=200)
    assert changed["strategy"] == "round_robin"
    await api.call(small, "POST", f"/threads/{first['id']}/close", expect=200)
    more = [await client_says(api, f"d{n}") for n in range(3)]
    # round_robin: agents in id order; `small` is full after one.
    assert [th["agent_id"] for th in more] == [small.id, big.id, big.id]


async def test_r3_transfer_to_away_offline_and_from_the_queue_whatever_the_capacity(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    away = await api.ready_agent(capacity=1)
    await set_status(api, away, "inactive", "away")
    offline = await api.person("agent")
    held = await client_says(api, "c1")
    other = await client_says(api, "c2")
    assert held["agent_id"] == other["agent_id"] == agent.id
    await answer(api, agent, held["id"])

    moved = await api.json(agent, "POST", f"/threads/{held['id']}/transfer", {"agent_id": away.id}, expect=200)
    # The new holder owes it an answer.
    assert (moved["state"], moved["agent_id"]) == ("assigned", away.id)
    moved = await api.json(supervisor, "POST", f"/threads/{other['id']}/transfer", {"agent_id": away.id}, expect=200)
    assert moved["agent_id"] == away.id  # capacity 1 does not block a transfer
    assert (await row(api, away))["threads"] == 2
    assert (await row(api, away))["status"]["state"] == "inactive"

    moved = await api.json(supervisor, "POST", f"/threads/{held['id']}/transfer", {"agent_id": offline.id}, expect=200)
    assert (moved["state"], moved["agent_id"]) == ("assigned", offline.id)
    assert (await row(api, offline))["threads"] == 1
    assert (await row(api, offline))["status"]["state"] == "offline"
    assert (await row(api, agent))["threads"] == 0
    # The holder already holds it: nothing to transfer. And the router never moves it back.
    same = await api.call(supervisor, "POST", f"/threads/{held['id']}/transfer", {"agent_id": offline.id}, expect=409)
    assert api.error(same)["field"] == "agent_id"
    await api.advance(1)
    assert (await thread(api, held["id"]))["agent_id"] == offline.id

    # A supervisor assigns a queued thread by transfer; an agent transfers only what they hold.
    await set_status(api, agent, "not_ready")
    waiting = await client_says(api, "c3")
    assert await queue_ids(api) == [waiting["id"]]
    refused = await api.call(agent, "POST", f"/threads/{waiting['id']}/transfer", {"agent_id": agent.id}, expect=404)
    assert api.error(refused)["field"] == "thread_id"
    moved = await api.json(supervisor, "POST", f"/threads/{waiting['id']}/transfer", {"agent_id": agent.id}, expect=200)
    assert (moved["state"], moved["agent_id"]) == ("assigned", agent.id)
    assert await queue_ids(api) == []


async def test_r4_a_returning_client_goes_to_their_agent_or_else_to_the_queue(api: Api) -> None:
    mine = await api.ready_agent()
    first = await client_says(api, "alice")
    assert first["agent_id"] == mine.id
    await answer(api, mine, first["id"])
    await api.call(mine, "POST", f"/threads/{first['id']}/close", expect=200)
    closed = await thread(api, first["id"])
    assert closed["state"] == "closed"
    assert closed["closed_at"] is not None
    # `mine` works with own clients only; a less busy colleague is active.
    await set_status(api, mine, "active_own_clients")
    colleague = await api.ready_agent()
    stranger = await client_says(api, "bob")
    assert stranger["agent_id"] == colleague.id
    back = await client_says(api, "alice", "me again")
    assert (back["state"], back["agent_id"]) == ("assigned", mine.id)
    assert back["id"] != first["id"]
    # The owner not taking threads, affinity_wait 0: the general queue at once.
    await answer(api, mine, back["id"])
    await api.call(mine, "POST", f"/threads/{back['id']}/close", expect=200)
    await set_status(api, mine, "not_ready")
    third = await client_says(api, "alice", "anyone?")
    assert third["agent_id"] == colleague.id


async def test_r4_the_owner_away_the_thread_waits_then_joins_the_queue(api: Api) -> None:
    await api.json(api.admin, "PATCH", "/settings", {"affinity_wait": 30}, expect=200)
    mine = await api.ready_agent()
    first = await client_says(api, "alice")
    await answer(api, mine, first["id"])
    await api.call(mine, "POST", f"/threads/{first['id']}/close", expect=200)
    await set_status(api, mine, "inactive", "short_break")

    # Waiting for the owner: queued, but not in the general queue.
    waiting = await client_says(api, "alice", "hi again")
    assert (waiting["state"], waiting["agent_id"]) == ("queued", None)
    listed = await queue(api)
    assert (listed["length"], listed["waiting_for_owner"]) == (0, 1)  # listed after the queue, for its owner
    assert [(i["id"], i["reserved_for"]) for i in listed["items"]] == [(waiting["id"], mine.id)]
    await api.advance(10)
    await set_status(api, mine, "active")  # back within the wait: it goes to them
    assert (await thread(api, waiting["id"]))["agent_id"] == mine.id
    await answer(api, mine, waiting["id"])
    await api.call(mine, "POST", f"/threads/{waiting['id']}/close", expect=200)

    await set_status(api, mine, "inactive", "short_break")
    again = await client_says(api, "alice", "third time")
    await api.advance(29)
    assert [(i["id"], i["reserved_for"]) for i in (await queue(api))["items"]] == [(again["id"], mine.id)]
    await api.advance(1)
    listed = await queue(api)
    assert [(i["id"], i["reserved_for"]) for i in listed["items"]] == [(again["id"], None)]  # the wait is over
    assert (listed["length"], listed["waiting_for_owner"]) == (1, 0)
    colleague = await api.ready_agent()
    assert (await thread(api, again["id"]))["agent_id"] == colleague.id


async def test_r5_leaving_active_reclaims_unanswered_threads_and_keeps_answered_ones(api: Api) -> None:
    agent = await api.ready_agent()
    answered = await client_says(api, "c1")
    unanswered = await client_says(api, "c2")
    assert answered["agent_id"] == unanswered["agent_id"] == agent.id
    await answer(api, agent, answered["id"])
    colleague = await api.ready_agent()

    now = await set_status(api, agent, "inactive", "lunch")
    assert (now["state"], now["reason"]) == ("finishing", "lunch")
    assert (await thread(api, unanswered["id"]))["agent_id"] == colleague.id
    kept = await thread(api, answered["id"])
    assert (kept["state"], kept["agent_id"]) == ("in_progress", agent.id)
    assert (await row(api, agent))["threads"] == 1

    # active -> active_own_clients is not leaving; with only unanswered threads, straight to inactive.
    await api.call(agent, "POST", f"/threads/{answered['id']}/close", expect=200)
    await set_status(api, colleague, "active_own_clients")
    await set_status(api, agent, "active")
    held = await client_says(api, "c3")
    assert held["agent_id"] == agent.id
    await set_status(api, agent, "active_own_clients")
    assert (await thread(api, held["id"]))["agent_id"] == agent.id
    await set_status(api, colleague, "active")
    now = await set_status(api, agent, "inactive", "lunch")
    assert (now["state"], now["reason"]) == ("inactive", "lunch")
    assert (await thread(api, held["id"]))["agent_id"] == colleague.id


async def test_r6_nobody_ready_halts_routing_and_resumes_when_someone_goes_active(api: Api) -> None:
    supervisor = await api.person("supervisor")
    empty = await api.json(supervisor, "GET", "/queue", expect=200)
    assert empty == {
        "length": 0,
        "waiting_for_owner": 0,
        "oldest_wait_seconds": None,
        "routing_halted": False,
        "routing": "halted",
        "items": [],
    }
    agent = await api.person("agent")
    await api.call(agent, "POST", "/me/login", expect=200)
    waiting = await client_says(api, "c1")
    halted = await api.json(supervisor, "GET", "/queue", expect=200)
    assert halted["routing_halted"] is True
    assert [i["id"] for i in halted["items"]] == [waiting["id"]]
    await set_status(api, agent, "active")
    resumed = await api.json(supervisor, "GET", "/queue", expect=200)
    assert (resumed["routing_halted"], resumed["items"]) == (False, [])
    assert (await thread(api, waiting["id"]))["agent_id"] == agent.id


async def test_r6_no_reclaim_while_nobody_is_eligible_until_someone_is(api: Api) -> None:
    agent = await api.ready_agent()
    held = await client_says(api, "c1")
    now = await set_status(api, agent, "inactive", "lunch")
    # Nobody to give it to: it stays with them (so they finish it), not reclaimed.
    assert (now["state"], now["reason"]) == ("finishing", "lunch")
    assert (await thread(api, held["id"]))["agent_id"] == agent.id
    assert await queue_ids(api) == []
    colleague = await api.ready_agent()
    assert (await thread(api, held["id"]))["agent_id"] == colleague.id
    now = (await row(api, agent))["status"]
    assert (now["state"], now["reason"]) == ("inactive", "lunch")


async def test_r7_concurrent_arrivals_are_each_assigned_once_and_none_waits_beside_room(api: Api) -> None:
    agents = [await api.ready_agent(capacity=2) for _ in range(3)]
    created = await asyncio.gather(*(client_says(api, f"c{n}") for n in range(8)))
    assert len({th["id"] for th in created}) == 8
    assigned = [th for th in created if th["agent_id"] is not None]
    assert len(assigned) == 6
    held = {a.id: (await row(api, a))["threads"] for a in agents}
    assert held == {a.id: 2 for a in agents}
    assert await queue_ids(api) == sorted(th["id"] for th in created if th["agent_id"] is None)
    # Every thread is somewhere, and in one place only.
    page = await api.json(api.admin, "GET", "/threads", expect=200)
    assert len(page["items"]) == 8
    holders = Counter(th["agent_id"] for th in page["items"])
    expected: dict[int | None, int] = {a.id: 2 for a in agents}
    assert holders == {**expected, None: 2}
    for agent in agents:
        mine = await api.json(agent, "GET", "/threads", expect=200)
        assert len(mine["items"]) == 2
    # Room appears: the queue drains at once, to the agents with room.
    closes = [th for th in assigned if th["agent_id"] == agents[0].id]
    await asyncio.gather(
        *(api.call(agents[0], "POST", f"/threads/{th['id']}/close", expect=200) for th in closes),
    )
    assert await queue_ids(api) == []
    assert (await row(api, agents[0]))["threads"] == 2


async def test_r8_pin_and_unpin_and_the_widget_count(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    held = await client_says(api, "c1")
    held = await client_says(api, "c1", "second message")
    first_id, second_id = (m["id"] for m in held["messages"])
    base = f"/threads/{held['id']}/messages"

    pinned = await api.json(agent, "POST", f"{base}/{first_id}/pin", expect=200)
    assert [m["pinned"] for m in pinned["messages"]] == [True, False]
    await api.json(agent, "POST", f"{base}/{first_id}/pin", expect=200)  # twice changes nothing
    await api.json(agent, "POST", f"{base}/{second_id}/pin", expect=200)
    assert (await row(api, agent, supervisor))["pinned_messages"] == 2
    unpinned = await api.json(agent, "DELETE", f"{base}/{second_id}/pin", expect=200)
    assert [m["pinned"] for m in unpinned["messages"]] == [True, False]
    assert (await row(api, agent, supervisor))["pinned_messages"] == 1

    # Only the holder pins; a pin goes with the thread and leaves the count when it closes.
    colleague = await api.person("agent")
    refused = await api.call(colleague, "POST", f"{base}/{second_id}/pin", expect=404)
    assert api.error(refused)["field"] == "thread_id"
    await api.call(supervisor, "POST", f"/threads/{held['id']}/transfer", {"agent_id": colleague.id}, expect=200)
    assert (await row(api, agent))["pinned_messages"] == 0
    assert (await row(api, colleague))["pinned_messages"] == 1
    await api.call(colleague, "POST", f"/threads/{held['id']}/close", expect=200)
    assert (await row(api, colleague))["pinned_messages"] == 0
    assert [m["pinned"] for m in (await thread(api, held["id"]))["messages"]] == [True, False]


async def test_r3_an_answer_saved_beside_a_supervisors_transfer_is_answered_with_the_thread(api: Api) -> None:
    """The holder's answer and a supervisor's transfer of the same thread, at once: when the
    answer is saved (it came first), its answer is the thread, now the other agent's; never a
    404 for a message that was saved (a client told so would send it again)."""
    first, second = await api.ready_agent(capacity=50), await api.ready_agent(capacity=50)
    supervisor = await api.person("supervisor")
    wrong = []
    for n in range(40):
        opened = await client_says(api, f"c{n}")
        holder, other = (first, second) if opened["agent_id"] == first.id else (second, first)
        answered, _ = await asyncio.gather(
            api.call(holder, "POST", f"/threads/{opened['id']}/messages", {"text": f"answer {n}"}),
            api.call(supervisor, "POST", f"/threads/{opened['id']}/transfer", {"agent_id": other.id}, expect=200),
        )
        saved = f"answer {n}" in [m["text"] for m in (await thread(api, opened["id"]))["messages"]]
        if saved != (answered.status_code == 201):
            wrong.append((n, saved, answered.status_code, answered.text))
    assert not wrong, f"answers saved, yet refused (or refused, yet saved): {wrong}"


async def test_w6_a_supervisor_closes_a_queued_thread_from_the_queue(api: Api) -> None:
    """W6: "from the queue a supervisor … closes threads": one of the general queue and one
    waiting for its own agent (R4) of their team, answered as the closed thread. Another
    team's supervisor may close the shared queue's too, but not a thread on its way to
    another team's agent (as if there were none); an admin does not close (API.md)."""
    supervisor = await api.person("supervisor")
    stranger = await api.person("supervisor", team="other")
    await api.json(api.admin, "PATCH", "/settings", {"affinity_wait": 30}, expect=200)
    mine = await api.ready_agent()
    first = await client_says(api, "alice")
    await answer(api, mine, first["id"])
    await api.call(mine, "POST", f"/threads/{first['id']}/close", expect=200)
    await set_status(api, mine, "inactive", "short_break")  # nobody active: threads wait (R6)
    waiting = await client_says(api, "alice", "hi again")  # for `mine`, alice's agent (R4)
    queued = await client_says(api, "bruno")
    later = await client_says(api, "carol")
    listed = await queue(api)
    assert (listed["length"], listed["waiting_for_owner"]) == (2, 1)

    api.error(await api.call(api.admin, "POST", f"/threads/{queued['id']}/close", expect=403))
    refused = await api.call(stranger, "POST", f"/threads/{waiting['id']}/close", expect=404)
    assert api.error(refused)["field"] == "thread_id"

    closed = await api.json(supervisor, "POST", f"/threads/{queued['id']}/close", expect=200)
    assert (closed["id"], closed["state"], closed["agent_id"]) == (queued["id"], "closed", None)
    closed = await api.json(supervisor, "POST", f"/threads/{waiting['id']}/close", expect=200)
    assert (closed["state"], closed["agent_id"]) == ("closed", None)
    closed = await api.json(stranger, "POST", f"/threads/{later['id']}/close", expect=200)
    assert closed["state"] == "closed"
    listed = await queue(api)
    assert (listed["length"], listed["waiting_for_owner"], listed["items"]) == (0, 0, [])
    again = await api.call(supervisor, "POST", f"/threads/{queued['id']}/close", expect=404)
    assert api.error(again)["field"] == "thread_id"
    assert (await row(api, mine))["threads"] == 0
