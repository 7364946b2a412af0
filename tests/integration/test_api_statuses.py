"""Statuses through the API (S1-S7) and what supervisors see (W1-W4), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from onduty.storage import schema as t
from tests.integration.api_client import Api, Person
from tests.integration.flows import (
    add_reason,
    answer,
    client_says,
    queue,
    queue_ids,
    row,
    set_status,
    set_status_of,
    status,
    thread,
)

BUILT_IN = {"lunch", "short_break", "training", "meeting", "technical_break", "away"}


def by(kind: str, person_id: int | None = None, why: str | None = None) -> dict[str, Any]:
    """An actor as the API shows it (S7: who caused a change)."""
    return {"kind": kind, "id": person_id, "why": why}


def by_id(rows: list[dict[str, Any]], person: Person) -> dict[str, Any]:
    return next(r for r in rows if r["id"] == person.id)


async def test_s2_agent_goes_active_and_the_supervisor_sees_it(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    rows = await api.json(supervisor, "GET", "/agents", expect=200)
    row = next(r for r in rows if r["id"] == agent.id)
    assert row["status"]["state"] == "active"
    assert row["status"]["label"] == "Active (free)"
    assert row["presence"] == "online"


# -- S1 reasons ---------------------------------------------------------------------


async def test_s1_custom_reason_is_added_relabelled_and_retired(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    reasons = await api.json(agent, "GET", "/reasons", expect=200)
    assert {r["code"] for r in reasons if r["built_in"]} == BUILT_IN
    assert all(not r["retired"] for r in reasons)

    created = await add_reason(api, "coaching", "Coaching")
    assert created == {
        "code": "coaching",
        "label": "Coaching",
        "requires_approval": False,
        "retired": False,
        "built_in": False,
        "max_minutes": None,  # S10: no limit
    }
    now = await set_status(api, agent, "inactive", "coaching")
    assert (now["state"], now["reason"], now["label"]) == ("inactive", "coaching", "Coaching")
    # Shown like a built-in reason wherever a status shows: the widget, the card, presence.
    rows = await api.json(supervisor, "GET", "/agents", expect=200)
    assert by_id(rows, agent)["status"]["label"] == "Coaching"
    presence = await api.json(supervisor, "GET", "/presence", params={"ids": str(agent.id)}, expect=200)
    assert [(p["agent_id"], p["presence"], p["status"]) for p in presence] == [
        (agent.id, "away", by_id(rows, agent)["status"])
    ]

    relabelled = await api.json(api.admin, "PATCH", "/reasons/coaching", {"label": "1:1 coaching"}, expect=200)
    assert relabelled["label"] == "1:1 coaching"
    assert (await status(api, agent))["label"] == "1:1 coaching"

    retired = await api.json(api.admin, "DELETE", "/reasons/coaching", expect=200)
    assert retired["retired"] is True
    # Still readable: in the catalogue, and on the agent who is in it (they stay until they change).
    listed = {r["code"]: r for r in await api.json(agent, "GET", "/reasons", expect=200)}
    assert listed["coaching"] == {**retired, "label": "1:1 coaching"}
    mine = await status(api, agent)
    assert (mine["state"], mine["reason"], mine["label"]) == ("inactive", "coaching", "1:1 coaching")
    # ...but no longer choosable, by anyone.
    other = await api.ready_agent()
    refused = await api.call(other, "PUT", "/me/status", {"state": "inactive", "reason": "coaching"}, expect=400)
    assert api.error(refused)["field"] == "reason"
    assert api.error(refused)["code"] == "reason_retired"
    refused = await api.call(
        supervisor, "PUT", f"/agents/{other.id}/status", {"state": "inactive", "reason": "coaching"}, expect=400
    )
    assert api.error(refused)["field"] == "reason"
    assert (await status(api, other))["state"] == "active"
    again = await api.call(api.admin, "DELETE", "/reasons/coaching", expect=409)
    assert api.error(again)["field"] == "code"


async def test_s1_built_in_reasons_relabel_and_retire_like_custom_ones(api: Api) -> None:
    agent = await api.ready_agent()
    await set_status(api, agent, "inactive", "lunch")
    await api.json(api.admin, "PATCH", "/reasons/lunch", {"label": "Lunch (1h)"}, expect=200)
    assert (await status(api, agent))["label"] == "Lunch (1h)"
    await api.json(api.admin, "PATCH", "/reasons/meeting", {"requires_approval": True}, expect=200)
    asked = await set_status(api, agent, "inactive", "meeting", expect=202)
    assert asked["requested"] == {"state": "inactive", "reason": "meeting"}
    # Retiring the reason cancels the pending request for it.
    await api.json(api.admin, "DELETE", "/reasons/meeting", expect=200)
    cancelled = await api.json(api.admin, "GET", "/approvals", params={"state": "cancelled"}, expect=200)
    assert [(r["id"], r["why"]) for r in cancelled] == [(asked["id"], "reason_retired")]
    assert (await row(api, agent))["pending_request"] is None
    # At login, a status whose reason has been retired since comes back as not_ready.
    await api.json(api.admin, "DELETE", "/reasons/lunch", expect=200)
    await api.call(agent, "POST", "/me/logout", expect=200)
    back = await api.json(agent, "POST", "/me/login", expect=200)
    assert back["status"]["state"] == "not_ready"


# -- S2 who changes a status -------------------------------------------------------


async def test_s2_agent_changes_their_own_status_at_any_time(api: Api) -> None:
    agent = await api.person("agent")
    # Offline, setting a status logs in into it.
    now = await set_status(api, agent, "active")
    assert now["state"] == "active"
    assert now["set_by"] == by("agent", agent.id)
    for state, reason, label in [
        ("active_own_clients", None, "Active (doesn't receive threads)"),
        ("inactive", "short_break", "Short break"),
        ("inactive", "technical_break", "Technical break"),
        ("not_ready", None, "Not ready"),
        ("active", None, "Active (free)"),
    ]:
        now = await set_status(api, agent, state, reason)
        assert (now["state"], now["reason"], now["label"]) == (state, reason, label)
        assert now["set_by"] == by("agent", agent.id)
        assert (await status(api, agent)) == now
    # The status they already have: no change, `since` stays.
    same = await set_status(api, agent, "active")
    assert same["since"] == now["since"]
    # Setting offline is a logout.
    gone = await set_status(api, agent, "offline")
    assert gone["state"] == "offline"
    assert gone["label"] == "Offline"


async def test_s2_supervisor_changes_status_from_the_card_but_not_while_offline(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.person("agent")
    refused = await api.call(supervisor, "PUT", f"/agents/{agent.id}/status", {"state": "active"}, expect=409)
    assert api.error(refused)["field"] == "agent_id"
    assert (await status(api, agent))["state"] == "offline"

    await api.call(agent, "POST", "/me/login", expect=200)
    now = await set_status_of(api, supervisor, agent, "active")
    assert (now["state"], now["set_by"]) == ("active", by("supervisor", supervisor.id))
    now = await set_status_of(api, supervisor, agent, "inactive", "training")
    assert (now["state"], now["reason"], now["label"]) == ("inactive", "training", "Training")
    now = await set_status_of(api, api.admin, agent, "not_ready")
    assert now["set_by"] == by("admin", api.admin.id)
    # A supervisor's offline is a forced logout; after it, the card is read-only again.
    now = await set_status_of(api, supervisor, agent, "offline")
    assert (now["state"], now["set_by"]) == ("offline", by("supervisor", supervisor.id))
    refused = await api.call(supervisor, "PUT", f"/agents/{agent.id}/status", {"state": "not_ready"}, expect=409)
    assert api.error(refused)["code"] == "conflict"


async def test_s2_nobody_sets_kicked_out_or_finishing(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    before = await status(api, agent)
    for who, path in [(agent, "/me/status"), (supervisor, f"/agents/{agent.id}/status")]:
        refused = await api.call(who, "PUT", path, {"state": "kicked_out"}, expect=403)
        assert api.error(refused)["field"] == "state"
    refused = await api.call(api.admin, "PUT", f"/agents/{agent.id}/status", {"state": "kicked_out"}, expect=403)
    assert api.error(refused)["field"] == "state"
    refused = await api.call(agent, "PUT", "/me/status", {"state": "finishing"}, expect=400)
    assert api.error(refused)["field"] == "state"
    refused = await api.call(agent, "PUT", "/me/status", {"state": "inactive"}, expect=400)
    assert api.error(refused)["field"] == "reason"
    assert await status(api, agent) == before


# -- S3 finishing --------------------------------------------------------------------


async def test_s3_finishing_then_inactive_when_the_last_thread_closes(api: Api) -> None:
    agent = await api.ready_agent()
    first = await client_says(api, "c1")
    second = await client_says(api, "c2")
    assert first["agent_id"] == second["agent_id"] == agent.id
    await answer(api, agent, first["id"])
    await answer(api, agent, second["id"])

    now = await set_status(api, agent, "inactive", "lunch")
    assert (now["state"], now["reason"], now["label"]) == ("finishing", "lunch", "Active (finishing → Lunch break)")
    # No new threads while finishing.
    third = await client_says(api, "c3")
    assert third["state"] == "queued"
    assert third["agent_id"] is None
    await api.call(agent, "POST", f"/threads/{first['id']}/close", expect=200)
    assert (await status(api, agent))["state"] == "finishing"
    await api.call(agent, "POST", f"/threads/{second['id']}/close", expect=200)
    now = await status(api, agent)
    assert (now["state"], now["reason"], now["label"]) == ("inactive", "lunch", "Lunch break")
    assert now["set_by"] == by("system", None, "finishing_completed")
    assert await queue_ids(api) == [third["id"]]


async def test_s3_holding_nothing_goes_straight_to_inactive_active_cancels_and_transfer_ends_finishing(
    api: Api,
) -> None:
    agent = await api.ready_agent()
    now = await set_status(api, agent, "inactive", "away")
    assert (now["state"], now["reason"], now["label"]) == ("inactive", "away", "Away")
    await set_status(api, agent, "active")
    held = await client_says(api, "c1")
    await answer(api, agent, held["id"])
    assert (await set_status(api, agent, "inactive", "lunch"))["state"] == "finishing"
    # Another reason changes where finishing heads; active cancels it.
    now = await set_status(api, agent, "inactive", "short_break")
    assert (now["state"], now["reason"]) == ("finishing", "short_break")
    now = await set_status(api, agent, "active")
    assert (now["state"], now["reason"], now["label"]) == ("active", None, "Active")
    await api.call(agent, "POST", f"/threads/{held['id']}/close", expect=200)
    assert (await status(api, agent))["state"] == "active"

    # A supervisor's inactive goes through S3 too; a transfer away ends the finishing.
    supervisor = await api.person("supervisor")
    colleague = await api.person("agent")
    held = await client_says(api, "c2")
    await answer(api, agent, held["id"])
    now = await set_status_of(api, supervisor, agent, "inactive", "meeting")
    assert (now["state"], now["reason"]) == ("finishing", "meeting")
    await api.call(supervisor, "POST", f"/threads/{held['id']}/transfer", {"agent_id": colleague.id}, expect=200)
    now = await status(api, agent)
    assert (now["state"], now["reason"], now["set_by"]) == (
        "inactive",
        "meeting",
        by("system", None, "finishing_completed"),
    )


# -- S4 approval ---------------------------------------------------------------------


async def test_s4_request_then_approve_applies_the_status_as_in_s3(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await add_reason(api, "doctor", "Doctor's appointment", requires_approval=True)
    held = await client_says(api, "c1")
    await answer(api, agent, held["id"])

    asked = await set_status(api, agent, "inactive", "doctor", expect=202)
    assert asked["agent_id"] == agent.id
    assert asked["state"] == "pending"
    assert asked["requested"] == {"state": "inactive", "reason": "doctor"}
    assert asked["decided_by"] is None
    assert (await status(api, agent))["state"] == "active"  # nothing changes yet
    pending = await api.json(supervisor, "GET", "/approvals", params={"state": "pending"}, expect=200)
    assert [(r["id"], r["agent_id"], r["state"]) for r in pending] == [(asked["id"], agent.id, "pending")]
    card = await row(api, agent, supervisor)
    assert card["pending_request"] is not None
    assert card["pending_request"]["id"] == asked["id"]

    decided = await api.json(supervisor, "POST", f"/approvals/{asked['id']}/approve", expect=200)
    assert decided["state"] == "approved"
    assert decided["decided_by"] == by("supervisor", supervisor.id)
    assert decided["decided_at"] is not None
    now = await status(api, agent)
    # Holding a thread: finishing towards the approved reason, set by the deciding supervisor.
    assert (now["state"], now["reason"]) == ("finishing", "doctor")
    assert now["set_by"] == by("supervisor", supervisor.id)
    assert (await row(api, agent))["pending_request"] is None
    assert await api.json(supervisor, "GET", "/approvals", params={"state": "pending"}, expect=200) == []
    # Decided once: cannot be decided again.
    for verb in ("approve", "reject"):
        again = await api.call(supervisor, "POST", f"/approvals/{asked['id']}/{verb}", expect=409)
        assert api.error(again)["field"] == "request_id"
    await api.call(agent, "POST", f"/threads/{held['id']}/close", expect=200)
    now = await status(api, agent)
    assert (now["state"], now["reason"], now["label"]) == ("inactive", "doctor", "Doctor's appointment")


async def test_s4_reject_and_a_new_request_replaces_the_old(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await add_reason(api, "doctor", "Doctor", requires_approval=True)
    await add_reason(api, "errand", "Errand", requires_approval=True)
    first = await set_status(api, agent, "inactive", "doctor", expect=202)
    second = await set_status(api, agent, "inactive", "errand", expect=202)
    assert second["id"] != first["id"]
    pending = await api.json(supervisor, "GET", "/approvals", params={"state": "pending"}, expect=200)
    assert [r["id"] for r in pending] == [second["id"]]
    cancelled = await api.json(supervisor, "GET", "/approvals", params={"state": "cancelled"}, expect=200)
    assert [(r["id"], r["why"]) for r in cancelled] == [(first["id"], "replaced")]
    assert (await row(api, agent, supervisor))["pending_request"]["id"] == second["id"]
    replaced = await api.call(supervisor, "POST", f"/approvals/{first['id']}/approve", expect=409)
    assert api.error(replaced)["field"] == "request_id"

    # The agent changes status in other ways while the request waits: it stays pending.
    await set_status(api, agent, "not_ready")
    assert (await row(api, agent))["pending_request"]["id"] == second["id"]

    decided = await api.json(supervisor, "POST", f"/approvals/{second['id']}/reject", expect=200)
    assert decided["state"] == "rejected"
    assert decided["decided_by"] == by("supervisor", supervisor.id)
    assert (await status(api, agent))["state"] == "not_ready"
    assert (await row(api, agent))["pending_request"] is None
    await api.call(supervisor, "POST", f"/approvals/{second['id']}/approve", expect=409)
    assert (await status(api, agent))["state"] == "not_ready"
    every = await api.json(supervisor, "GET", "/approvals", expect=200)
    assert [r["state"] for r in every] == ["cancelled", "rejected"]


async def test_s4_a_supervisor_setting_the_reason_is_the_approval_and_logout_cancels_a_request(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await add_reason(api, "doctor", "Doctor", requires_approval=True)
    now = await set_status_of(api, supervisor, agent, "inactive", "doctor")
    assert (now["state"], now["reason"]) == ("inactive", "doctor")
    assert await api.json(supervisor, "GET", "/approvals", expect=200) == []
    # Asking for the status one already has asks nothing.
    same = await set_status(api, agent, "inactive", "doctor")
    assert same["since"] == now["since"]
    assert await api.json(supervisor, "GET", "/approvals", expect=200) == []

    # A pending request is cancelled by logout; asking needs the agent logged in.
    await set_status(api, agent, "active")
    asked = await set_status(api, agent, "inactive", "doctor", expect=202)
    await api.call(agent, "POST", "/me/logout", expect=200)
    cancelled = await api.json(supervisor, "GET", "/approvals", params={"state": "cancelled"}, expect=200)
    assert [(r["id"], r["why"]) for r in cancelled] == [(asked["id"], "logged_out")]
    refused = await api.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "doctor"}, expect=409)
    assert api.error(refused)["field"] == "state"
    assert (await status(api, agent))["state"] == "offline"


# -- S5 login and logout -------------------------------------------------------------


async def test_s5_first_login_is_not_ready_and_login_restores_the_last_status(api: Api) -> None:
    agent = await api.person("agent")
    me = await api.json(agent, "GET", "/me", expect=200)
    assert me["status"]["state"] == "offline"
    assert me["agent"]["presence"] == "offline"
    first = await api.json(agent, "POST", "/me/login", expect=200)
    assert first["status"]["state"] == "not_ready"
    assert first["status"]["set_by"] == by("system", None, "login_restore")
    again = await api.json(agent, "POST", "/me/login", expect=200)  # already logged in: nothing changes
    assert again["status"] == first["status"]

    await set_status(api, agent, "inactive", "training")
    out = await api.json(agent, "POST", "/me/logout", expect=200)
    assert out["status"]["state"] == "offline"
    assert out["status"]["set_by"] == by("agent", agent.id)
    back = await api.json(agent, "POST", "/me/login", expect=200)
    assert (back["status"]["state"], back["status"]["reason"]) == ("inactive", "training")
    assert back["status"]["set_by"]["why"] == "login_restore"

    await set_status(api, agent, "active_own_clients")
    await api.call(agent, "POST", "/me/logout", expect=200)
    back = await api.json(agent, "POST", "/me/login", expect=200)
    assert back["status"]["state"] == "active_own_clients"


async def test_s5_logout_requeues_held_threads_and_finishing_comes_back_inactive(api: Api) -> None:
    agent = await api.ready_agent()
    first = await client_says(api, "c1")
    second = await client_says(api, "c2")
    await answer(api, agent, first["id"])
    assert (await set_status(api, agent, "inactive", "lunch"))["state"] == "finishing"
    await api.call(agent, "POST", "/me/logout", expect=200)
    # Both threads back in the queue, answered or not, even with nobody to take them.
    assert await queue_ids(api) == [first["id"], second["id"]]
    for thread_id in (first["id"], second["id"]):
        requeued = await thread(api, thread_id)
        assert (requeued["state"], requeued["agent_id"]) == ("queued", None)
    assert (await row(api, agent))["threads"] == 0
    back = await api.json(agent, "POST", "/me/login", expect=200)
    assert (back["status"]["state"], back["status"]["reason"]) == ("inactive", "lunch")


async def test_s5_on_logout_keep_leaves_answered_threads_and_login_finishes_them_first(api: Api) -> None:
    await api.json(api.admin, "PATCH", "/settings", {"on_logout": "keep"}, expect=200)
    agent = await api.ready_agent()
    held = await client_says(api, "c1")
    await answer(api, agent, held["id"])
    assert (await set_status(api, agent, "inactive", "lunch"))["state"] == "finishing"
    await api.call(agent, "POST", "/me/logout", expect=200)
    kept = await thread(api, held["id"])
    assert (kept["state"], kept["agent_id"]) == ("in_progress", agent.id)
    assert (await row(api, agent))["threads"] == 1
    assert await queue_ids(api) == []
    # Back with a thread still held: finishing towards the restored reason (S3).
    back = await api.json(agent, "POST", "/me/login", expect=200)
    assert (back["status"]["state"], back["status"]["reason"]) == ("finishing", "lunch")
    await api.call(agent, "POST", f"/threads/{held['id']}/close", expect=200)
    assert (await status(api, agent))["state"] == "inactive"


# -- S6 continue working? ------------------------------------------------------------


async def test_s6_kick_out_after_both_timeouts_through_the_api(api: Api) -> None:
    agent = await api.ready_agent()
    integration = await api.person("integration")
    thread = await api.json(integration, "POST", "/threads", {"client_id": "c1", "text": "help"}, expect=201)
    assert thread["agent_id"] == agent.id
    await api.advance(60)
    me = await api.json(agent, "GET", "/me", expect=200)
    assert me["agent"]["prompt_deadline"] is not None
    await api.advance(30)
    me = await api.json(agent, "GET", "/me", expect=200)
    assert me["status"]["state"] == "kicked_out"


async def test_s6_prompt_shows_in_the_agent_object_and_continue_or_an_answer_clears_it(api: Api) -> None:
    agent = await api.ready_agent()
    held = await client_says(api, "c1")
    await api.advance(59)
    assert (await row(api, agent))["prompt_deadline"] is None
    await api.advance(1)
    card = await row(api, agent)
    assert card["prompt_deadline"] is not None
    me = await api.json(agent, "GET", "/me", expect=200)
    assert me["agent"]["prompt_deadline"] == card["prompt_deadline"]

    confirmed = await api.json(agent, "POST", "/me/continue", expect=200)
    assert confirmed["prompt_deadline"] is None
    assert confirmed["status"]["state"] == "active"
    refused = await api.call(agent, "POST", "/me/continue", expect=409)
    assert api.error(refused)["code"] == "not_prompted"
    # The response clock restarts from the confirmation.
    await api.advance(59)
    assert (await row(api, agent))["prompt_deadline"] is None
    await api.advance(1)
    assert (await row(api, agent))["prompt_deadline"] is not None
    # Asking for a status (even the one they have) also shows they are there.
    await set_status(api, agent, "active")
    assert (await row(api, agent))["prompt_deadline"] is None
    await api.advance(59)
    assert (await status(api, agent))["state"] == "active"
    # So does answering; and an answered thread never prompts.
    await api.advance(1)
    assert (await row(api, agent))["prompt_deadline"] is not None
    await answer(api, agent, held["id"])
    assert (await row(api, agent))["prompt_deadline"] is None
    await api.advance(600)
    now = await row(api, agent)
    assert (now["status"]["state"], now["prompt_deadline"]) == ("active", None)


async def test_s6_the_response_clock_starts_when_the_agent_starts_working(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.person("agent")
    await api.call(agent, "POST", "/me/login", expect=200)
    held = await client_says(api, "c1")
    await api.call(supervisor, "POST", f"/threads/{held['id']}/transfer", {"agent_id": agent.id}, expect=200)
    await api.advance(300)  # not working: no clock
    assert (await row(api, agent))["prompt_deadline"] is None
    await set_status(api, agent, "active")  # counted from here, not from the transfer
    await api.advance(59)
    assert (await row(api, agent))["prompt_deadline"] is None
    # Moving within the working states does not restart the clock.
    assert (await set_status(api, agent, "inactive", "lunch"))["state"] == "finishing"
    await api.advance(1)
    assert (await row(api, agent))["prompt_deadline"] is not None
    await api.json(agent, "POST", "/me/continue", expect=200)
    # A shorter response_timeout moves the running deadline at once.
    await api.advance(20)
    await api.json(api.admin, "PATCH", "/settings", {"response_timeout": 10}, expect=200)
    await api.advance(0)
    assert (await row(api, agent))["prompt_deadline"] is not None


async def test_s6_kick_out_requeues_with_the_original_arrival_order(api: Api) -> None:
    agent = await api.ready_agent(capacity=1)
    first = await client_says(api, "c1")
    assert first["agent_id"] == agent.id
    await api.advance(10)
    later = await client_says(api, "c2")
    assert later["state"] == "queued"
    await api.advance(50)
    assert (await row(api, agent))["prompt_deadline"] is not None
    await api.advance(30)
    kicked = await status(api, agent)
    assert (kicked["state"], kicked["label"]) == ("kicked_out", "Inactive (kicked out)")
    assert kicked["set_by"] == by("system", None, "kicked_out")
    assert (await row(api, agent))["threads"] == 0
    assert (await row(api, agent))["prompt_deadline"] is None
    waiting = await queue(api)
    # The kicked-out thread goes ahead of the one that arrived later; nobody is eligible.
    assert [i["id"] for i in waiting["items"]] == [first["id"], later["id"]]
    assert waiting["items"][0]["created_at"] == first["created_at"]
    assert waiting["routing_halted"] is True
    assert (await thread(api, first["id"]))["created_at"] == first["created_at"]

    # Nothing new until they choose another status; a kicked-out status logs back in as not_ready.
    await client_says(api, "c3")
    assert (await row(api, agent))["threads"] == 0
    await api.call(agent, "POST", "/me/logout", expect=200)
    back = await api.json(agent, "POST", "/me/login", expect=200)
    assert back["status"]["state"] == "not_ready"
    await set_status(api, agent, "active")
    assert (await thread(api, first["id"]))["agent_id"] == agent.id


# -- S7 the record -------------------------------------------------------------------


async def test_s7_every_change_is_recorded_with_who_caused_it(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.person("agent")
    await api.call(agent, "POST", "/me/login", expect=200)  # system: login_restore
    await set_status(api, agent, "active")  # the agent
    held = await client_says(api, "c1")
    await answer(api, agent, held["id"])
    await set_status_of(api, supervisor, agent, "inactive", "lunch")  # a supervisor: finishing
    await api.call(agent, "POST", f"/threads/{held['id']}/close", expect=200)  # system: finishing_completed
    await set_status_of(api, api.admin, agent, "active")  # an admin
    await client_says(api, "c2")
    await api.advance(60)
    await api.advance(30)  # system: kicked_out

    log = await api.store.fetch(
        select(t.status_log).where(t.status_log.c.agent_id == agent.id).order_by(t.status_log.c.id)
    )
    trail = [(r.from_state, r.from_reason, r.to_state, r.to_reason, r.actor_kind, r.actor_id, r.actor_why) for r in log]
    assert trail == [
        ("offline", None, "not_ready", None, "system", None, "login_restore"),
        ("not_ready", None, "active", None, "agent", agent.id, None),
        ("active", None, "finishing", "lunch", "supervisor", supervisor.id, None),
        ("finishing", "lunch", "inactive", "lunch", "system", None, "finishing_completed"),
        ("inactive", "lunch", "active", None, "admin", api.admin.id, None),
        ("active", None, "kicked_out", None, "system", None, "kicked_out"),
    ]
    times = [r.at for r in log]
    assert times == sorted(times)
    assert times[-1] - times[0] == 90
    assert {r.team for r in log} == {"support"}
    last = await status(api, agent)
    assert last["set_by"] == by("system", None, "kicked_out")


# -- W1-W4 what supervisors see ------------------------------------------------------


async def test_w1_rows_show_status_label_threads_and_pins(api: Api) -> None:
    supervisor = await api.person("supervisor")
    busy = await api.ready_agent()
    first = await client_says(api, "c1")
    second = await client_says(api, "c2")
    assert first["agent_id"] == second["agent_id"] == busy.id
    free = await api.ready_agent()
    resting = await api.person("agent")
    await api.call(resting, "POST", "/me/login", expect=200)
    await set_status(api, resting, "inactive", "lunch")
    offline = await api.person("agent")
    await api.call(busy, "POST", f"/threads/{first['id']}/messages/{first['messages'][0]['id']}/pin", expect=200)

    rows = await api.json(supervisor, "GET", "/agents", expect=200)
    assert {r["id"] for r in rows} == {free.id, busy.id, resting.id, offline.id}
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)
    shown = {r["id"]: (r["status"]["label"], r["threads"], r["pinned_messages"], r["presence"]) for r in rows}
    assert shown == {
        free.id: ("Active (free)", 0, 0, "online"),
        busy.id: ("Active", 2, 1, "online"),
        resting.id: ("Lunch break", 0, 0, "away"),
        offline.id: ("Offline", 0, 0, "offline"),
    }
    for r in rows:
        assert r["team"] == "support"
        assert r["capacity"] == 3
        assert r["pending_request"] is None
    assert by_id(rows, resting)["status"]["since"] is not None


async def test_w2_filter_by_state_active_free_and_reason(api: Api) -> None:
    supervisor = await api.person("supervisor")
    busy = await api.ready_agent()
    assert (await client_says(api, "c1"))["agent_id"] == busy.id
    free = await api.ready_agent()
    lunching = await api.ready_agent()
    await set_status(api, lunching, "inactive", "lunch")
    coaching = await api.ready_agent()
    await add_reason(api, "coaching", "Coaching")
    await set_status(api, coaching, "inactive", "coaching")
    preparing = await api.person("agent")
    await api.call(preparing, "POST", "/me/login", expect=200)
    offline = await api.person("agent")
    elsewhere = await api.ready_agent(team="billing")

    async def ids(status: str | None = None, who: Person = supervisor) -> set[int]:
        params = {"status": status} if status is not None else None
        return {r["id"] for r in await api.json(who, "GET", "/agents", params=params, expect=200)}

    everyone = {free.id, busy.id, lunching.id, coaching.id, preparing.id, offline.id}
    assert await ids() == everyone  # All is the default; a supervisor sees their team
    assert await ids("active") == {free.id, busy.id}
    assert await ids("active_free") == {free.id}
    assert await ids("inactive") == {lunching.id, coaching.id}
    assert await ids("lunch") == {lunching.id}
    assert await ids("coaching") == {coaching.id}
    assert await ids("not_ready") == {preparing.id}
    assert await ids("offline") == {offline.id}
    assert await ids("kicked_out") == set()
    assert await ids("meeting") == set()
    assert await ids("active", api.admin) == {free.id, busy.id, elsewhere.id}
    billing = await api.json(api.admin, "GET", "/agents", params={"team": "billing"}, expect=200)
    assert [r["id"] for r in billing] == [elsewhere.id]
    # A retired reason still filters: agents may still be in it.
    await api.json(api.admin, "DELETE", "/reasons/coaching", expect=200)
    assert await ids("coaching") == {coaching.id}


async def test_w3_agent_card_with_threads_and_pending_request(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    await add_reason(api, "doctor", "Doctor", requires_approval=True)
    await client_says(api, "c1")
    asked = await set_status(api, agent, "inactive", "doctor", expect=202)
    card = await row(api, agent, supervisor)
    assert card["id"] == agent.id
    assert card["username"] == agent.username
    assert card["threads"] == 1
    assert card["status"]["state"] == "active"
    assert card["pending_request"] == {
        "id": asked["id"],
        "agent_id": agent.id,
        "state": "pending",
        "requested": {"state": "inactive", "reason": "doctor"},
        "created_at": asked["created_at"],
        "decided_by": None,
        "decided_at": None,
        "why": None,
    }
    # The bell: the list marks the agent too, and the agent reads their own card.
    listed = by_id(await api.json(supervisor, "GET", "/agents", expect=200), agent)
    assert listed["pending_request"]["id"] == asked["id"]
    own = await api.json(agent, "GET", f"/agents/{agent.id}", expect=200)
    assert own["pending_request"]["id"] == asked["id"]
    held = await api.json(supervisor, "GET", "/threads", params={"agent_id": agent.id}, expect=200)
    assert [th["client_id"] for th in held["items"]] == ["c1"]
    colleague = await api.person("agent")
    hidden = await api.call(colleague, "GET", f"/agents/{agent.id}", expect=404)
    assert api.error(hidden)["field"] == "agent_id"


async def test_w4_presence_online_away_offline(api: Api) -> None:
    finishing = await api.ready_agent()
    held = await client_says(api, "c1")
    assert held["agent_id"] == finishing.id
    await answer(api, finishing, held["id"])
    await set_status(api, finishing, "inactive", "lunch")
    active = await api.ready_agent()
    own_clients = await api.ready_agent()
    await set_status(api, own_clients, "active_own_clients")
    preparing = await api.person("agent")
    await api.call(preparing, "POST", "/me/login", expect=200)
    resting = await api.ready_agent()
    await set_status(api, resting, "inactive", "meeting")
    offline = await api.person("agent")
    people = [active, own_clients, finishing, preparing, resting, offline]

    colleague = await api.person("agent")
    ids = ",".join(str(p.id) for p in people)
    answered = await api.json(colleague, "GET", "/presence", params={"ids": ids}, expect=200)
    assert [(p["agent_id"], p["presence"], p["status"]["state"]) for p in answered] == [
        (active.id, "online", "active"),
        (own_clients.id, "online", "active_own_clients"),
        (finishing.id, "online", "finishing"),
        (preparing.id, "away", "not_ready"),
        (resting.id, "away", "inactive"),
        (offline.id, "offline", "offline"),
    ]
    # The same presence as the widget's rows; without ids, everyone.
    rows = await api.json(api.admin, "GET", "/agents", expect=200)
    assert {r["id"]: r["presence"] for r in rows if r["id"] in {p.id for p in people}} == {
        p["agent_id"]: p["presence"] for p in answered
    }
    everyone = await api.json(colleague, "GET", "/presence", expect=200)
    assert {p["agent_id"] for p in everyone} == {r["id"] for r in rows}
    # Each with their load, as the widget counts it, for a colleague choosing whom to transfer to.
    loads = {p["agent_id"]: (p["threads"], p["capacity"]) for p in answered}
    assert loads == {r["id"]: (r["threads"], r["capacity"]) for r in rows if r["id"] in loads}
    assert loads[finishing.id] == (1, 3)
