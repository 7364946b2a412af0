"""A write sent again under its `Idempotency-Key` is applied once (SQLite and PostgreSQL).

Instances forward writes to the owner under a key and send them again when the owner died
mid-request; a client may send its own key for its own retries. The repeat is answered
from the state as it is; every answer to a write says (`Onduty-Event-Id`) the journal's
last id the answering instance held."""

from __future__ import annotations

from onduty.service.idempotency import next_key, request_key
from tests.integration.api_client import Api
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


async def test_a_retried_message_whose_thread_closed_since_is_a_conflict(api: Api) -> None:
    integration = await api.person("integration")
    agent = await api.ready_agent()
    body = {"client_id": "c2", "text": "hello"}
    taken = await api.json(integration, "POST", "/threads", body, headers=KEY, expect=201)
    assert taken["agent_id"] == agent.id
    await api.call(agent, "POST", f"/threads/{taken['id']}/close", expect=200)
    again = await api.call(integration, "POST", "/threads", body, headers=KEY, expect=409)
    assert "taken before" in again.json()["error"]["message"]
    assert (await client_says(api, "c2"))["id"] != taken["id"]  # without the key: a new thread


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
