"""A write sent again under its `Idempotency-Key` is applied once (SQLite and PostgreSQL).

Instances forward writes to the owner under a key and send them again when the owner died
mid-request; a client may send its own key for its own retries. The repeat is answered
from the state as it is; every answer to a write says (`Onduty-Event-Id`) the journal's
last id the answering instance held."""

from __future__ import annotations

import uuid

import httpx

from onduty.service.idempotency import next_key, request_key
from tests.integration.api_client import Api, Person
from tests.integration.flows import client_says

KEY = {"Idempotency-Key": "k-7f3a"}


async def test_a_client_message_sent_twice_under_one_key_is_one_message(api: Api) -> None:
    integration = await api.person("integration")
    body = {"client_id": "c1", "text": "hello"}
    first = await api.call(integration, "POST", "/threads", body, headers=KEY, expect=201)
    again = await api.call(integration, "POST", "/threads", body, headers=KEY, expect=201)
    assert again.json()["id"] == first.json()["id"]
    assert [m["text"] for m in again.json()["messages"]] == ["hello"]  # not twice
    assert int(first.headers["onduty-event-id"]) > 0
    assert again.headers["onduty-event-id"] == first.headers["onduty-event-id"]  # nothing more happened
    other = await api.call(integration, "POST", "/threads", body, headers={"Idempotency-Key": "k-other"}, expect=201)
    assert [m["text"] for m in other.json()["messages"]] == ["hello", "hello"]  # another key: another message


async def test_a_status_change_sent_twice_under_one_key_is_logged_once(api: Api) -> None:
    agent = await api.ready_agent()
    supervisor = await api.person("supervisor")
    change = {"state": "inactive", "reason": "short_break"}
    for _ in range(2):
        await api.call(agent, "PUT", "/me/status", change, headers=KEY, expect=200)
    log = await api.json(supervisor, "GET", "/reports/status-log", params={"agent_id": agent.id}, expect=200)
    breaks = [row for row in log["items"] if row["to"]["reason"] == "short_break"]
    assert len(breaks) == 1, log["items"]


async def test_a_retried_message_whose_thread_closed_since_answers_that_thread(api: Api) -> None:
    """The thread is closed between the two sendings (and the client wrote again, opening
    another): the retry is answered as the first sending was, with the thread its message
    went to (closed now), and adds nothing. Not a 409: the client would take its message
    for refused, though it was taken."""
    integration = await api.person("integration")
    agent = await api.ready_agent()
    body = {"client_id": "c2", "text": "hello"}
    taken = await api.json(integration, "POST", "/threads", body, headers=KEY, expect=201)
    assert taken["agent_id"] == agent.id
    await api.call(agent, "POST", f"/threads/{taken['id']}/close", expect=200)
    other = await client_says(api, "c2", "again")
    assert other["id"] != taken["id"]  # without the key: a new thread
    again = await api.json(integration, "POST", "/threads", body, headers=KEY, expect=201)
    assert (again["id"], again["state"]) == (taken["id"], "closed"), again
    assert [m["text"] for m in again["messages"]] == ["hello"]


async def test_a_key_that_is_not_printable_ascii_or_too_long_is_refused_and_changes_nothing(api: Api) -> None:
    integration = await api.person("integration")
    for bad in ("x" * 101, "tab\there"):
        answer = await api.call(
            integration, "POST", "/threads", {"client_id": "c3", "text": "hi"}, headers={"Idempotency-Key": bad}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["field"] == "idempotency-key"
    queue = await api.json(api.admin, "GET", "/queue", expect=200)
    assert queue["length"] == 0


def test_a_requests_commands_are_keyed_by_kind_so_a_skipped_one_shifts_nothing() -> None:
    """A route may give a command only sometimes (a new agent's registration): the keys of
    the others must not depend on it."""
    with request_key("k"):
        first = [next_key("RegisterAgent"), next_key("Transfer")]
    with request_key("k"):
        retried = [next_key("Transfer")]
    assert first == ["k:RegisterAgent:1", "k:Transfer:1"]
    assert retried == ["k:Transfer:1"]
    assert next_key("Transfer") is None  # outside a keyed request


async def twice(api: Api, who: Person, method: str, path: str, body: object = None) -> tuple[httpx.Response, ...]:
    """The same request sent twice under one key."""
    key = {"Idempotency-Key": f"test-{uuid.uuid4().hex}"}
    first = await api.call(who, method, path, body, headers=key)
    again = await api.call(who, method, path, body, headers=key)
    return first, again


async def held_thread(api: Api, agent: Person, client: str) -> int:
    integration = await api.person("integration")
    thread = await api.json(integration, "POST", "/threads", {"client_id": client, "text": "hello"}, expect=201)
    assert thread["agent_id"] == agent.id, thread
    thread_id: int = thread["id"]
    return thread_id


async def test_a_break_that_needs_approval_asked_again_is_one_request_answered_202(api: Api) -> None:
    """S4: the second sending answers 202 with the same request; nobody asked twice."""
    await api.call(
        api.admin, "POST", "/reasons", {"code": "long_break", "label": "Long", "requires_approval": True}, expect=201
    )
    agent = await api.ready_agent()
    first, again = await twice(api, agent, "PUT", "/me/status", {"state": "inactive", "reason": "long_break"})
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.json()["id"] == first.json()["id"]
    pending = await api.json(api.admin, "GET", "/approvals", params={"state": "pending"})
    assert [r["id"] for r in pending] == [first.json()["id"]]


async def test_an_approval_decided_again_is_one_decision_answered_as_the_first(api: Api) -> None:
    """S4: approving again under the same key answers the decided request, not 409."""
    await api.call(
        api.admin, "POST", "/reasons", {"code": "long_break", "label": "Long", "requires_approval": True}, expect=201
    )
    agent = await api.ready_agent()
    supervisor = await api.person("supervisor")
    asked = await api.json(agent, "PUT", "/me/status", {"state": "inactive", "reason": "long_break"}, expect=202)
    first, again = await twice(api, supervisor, "POST", f"/approvals/{asked['id']}/approve")
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    other = await api.call(supervisor, "POST", f"/approvals/{asked['id']}/approve")
    assert other.status_code == 409, "another request (another key) is refused: decided already"


async def test_an_agents_transfer_sent_again_is_one_transfer_answered_as_the_first(api: Api) -> None:
    """R3: the holder transfers; sent again, it is answered with the thread, not refused
    because they no longer hold it (their first sending moved it)."""
    agent = await api.ready_agent(capacity=1)
    thread_id = await held_thread(api, agent, "c3")
    other = await api.ready_agent()
    first, again = await twice(api, agent, "POST", f"/threads/{thread_id}/transfer", {"agent_id": other.id})
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    assert again.json()["agent_id"] == other.id


async def test_an_answer_and_a_close_sent_again_are_applied_once(api: Api) -> None:
    agent = await api.ready_agent(capacity=1)
    thread_id = await held_thread(api, agent, "c4")
    first, again = await twice(api, agent, "POST", f"/threads/{thread_id}/messages", {"text": "hi there"})
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert [m["text"] for m in again.json()["messages"]] == ["hello", "hi there"]
    first, again = await twice(api, agent, "POST", f"/threads/{thread_id}/close")
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json()["state"] == "closed"


async def test_two_clients_choosing_the_same_key_are_two_writes(api: Api) -> None:
    """A key is its client's: another caller's request under the same key is its own write,
    applied, not taken for a retry of the first (which would drop it and acknowledge it)."""
    one, two = await api.person("integration"), await api.person("integration")
    key = {"Idempotency-Key": "1"}
    first = await api.json(one, "POST", "/threads", {"client_id": "c5", "text": "from one"}, headers=key)
    second = await api.json(two, "POST", "/threads", {"client_id": "c6", "text": "from two"}, headers=key)
    assert (first["client_id"], second["client_id"]) == ("c5", "c6"), second
    assert [m["text"] for m in second["messages"]] == ["from two"]
