"""Bad input through the API ("Everywhere"): a 4xx with the error shape naming the field,
never a 500, and nothing changed. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.integration.api_client import Api, Person
from tests.integration.flows import add_reason, client_says, set_status

TOO_LONG = "x" * 10_001
HUGE_ID = 2**40  # beyond a 32-bit column
HUGER_ID = 2**64  # beyond any database integer


@dataclass(frozen=True, slots=True)
class Scene:
    supervisor: Person
    agent: Person
    idle: Person
    integration: Person
    thread_id: int
    message_id: int
    request_id: int


async def scene(api: Api) -> Scene:
    """A team with something in every table: an agent holding a thread, a pending request, a queue."""
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent(capacity=1)
    idle = await api.person("agent")
    await api.call(idle, "POST", "/me/login", expect=200)
    integration = await api.person("integration")
    await add_reason(api, "doctor", "Doctor", requires_approval=True)
    held = await client_says(api, "c1")
    await client_says(api, "c2")  # waits in the queue
    asked = await set_status(api, agent, "inactive", "doctor", expect=202)
    return Scene(supervisor, agent, idle, integration, held["id"], held["messages"][0]["id"], asked["id"])


async def snapshot(api: Api) -> dict[str, Any]:
    """Everything a bad request could have changed, as the API shows it."""
    return {
        path: await api.json(api.admin, "GET", path, expect=200)
        for path in ("/agents", "/queue", "/reasons", "/settings", "/approvals", "/threads", "/presence")
    }


async def refused(
    api: Api,
    who: Person | None,
    method: str,
    path: str,
    body: Any = None,
    *,
    status: int = 400,
    field: str | None,
    code: str | None = None,
    raw: bytes | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await api.call(who, method, path, body, raw=raw, params=params)
    where = f"{method} {path} {body if raw is None else raw[:60]!r} {params or ''}"
    assert response.status_code == status, f"{where}: {response.status_code} {response.text[:300]}"
    error = api.error(response)
    assert error["field"] == field, f"{where}: {error}"
    if code is not None:
        assert error["code"] == code, f"{where}: {error}"
    return error


async def test_bad_status_requests_name_the_field_and_change_nothing(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    for path, who in [("/me/status", s.idle), (f"/agents/{s.idle.id}/status", s.supervisor)]:
        await refused(api, who, "PUT", path, {"state": "sleeping"}, field="state")
        await refused(
            api, who, "PUT", path, {"state": "inactive", "reason": "nap"}, field="reason", code="unknown_reason"
        )
        await refused(api, who, "PUT", path, {"state": "active", "reason": "lunch"}, field="reason")
        await refused(api, who, "PUT", path, {"state": "not_ready", "reason": "lunch"}, field="reason")
        await refused(api, who, "PUT", path, {"state": "inactive"}, field="reason")
        await refused(api, who, "PUT", path, {"state": "inactive", "reason": None}, field="reason")
        await refused(api, who, "PUT", path, {"state": "inactive", "reason": ""}, field="reason")
        await refused(api, who, "PUT", path, {"state": "inactive", "reason": 7}, field="reason")
        await refused(api, who, "PUT", path, {}, field="state")
        await refused(api, who, "PUT", path, {"reason": "lunch"}, field="state")
        await refused(api, who, "PUT", path, {"state": 3}, field="state")
        await refused(api, who, "PUT", path, {"state": None}, field="state")
        await refused(api, who, "PUT", path, {"state": "active", "mood": "great"}, field="mood")
        await refused(api, who, "PUT", path, ["active"], field=None)
        await refused(api, who, "PUT", path, None, field=None, raw=b'{"state": "active"')
        await refused(api, who, "PUT", path, None, field=None, raw=b"state=active")
        await refused(api, who, "PUT", path, None, field=None, raw=b"")
        await refused(api, who, "PUT", path, None, field=None, raw=b'{"state": "\xff"}')
        await refused(api, who, "PUT", path, {"state": "finishing"}, field="state")
        await refused(api, who, "PUT", path, {"state": "kicked_out"}, status=403, field="state")
    await refused(api, s.supervisor, "PUT", "/agents/999/status", {"state": "active"}, status=404, field="agent_id")
    await refused(
        api, s.supervisor, "PUT", f"/agents/{HUGE_ID}/status", {"state": "active"}, status=404, field="agent_id"
    )
    await refused(api, s.supervisor, "PUT", "/agents/abc/status", {"state": "active"}, status=404, field=None)
    await refused(api, s.agent, "POST", "/me/continue", status=409, field="agent_id")
    assert await snapshot(api) == before


async def test_bad_client_messages_and_answers_change_nothing(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    for who in (s.integration, api.admin):
        await refused(api, who, "POST", "/threads", {"text": "hi"}, field="client_id")
        await refused(api, who, "POST", "/threads", {"client_id": "c9"}, field="text")
        await refused(api, who, "POST", "/threads", {"client_id": "c9", "text": 5}, field="text")
        await refused(api, who, "POST", "/threads", {"client_id": 9, "text": "hi"}, field="client_id")
        await refused(api, who, "POST", "/threads", {"client_id": "c9", "text": ""}, field="text")
        await refused(api, who, "POST", "/threads", {"client_id": "c9", "text": "   "}, field="text")
        await refused(api, who, "POST", "/threads", {"client_id": "c9", "text": TOO_LONG}, field="text")
        await refused(api, who, "POST", "/threads", {"client_id": "", "text": "hi"}, field="client_id")
        await refused(api, who, "POST", "/threads", {"client_id": " ", "text": "hi"}, field="client_id")
        await refused(api, who, "POST", "/threads", {"client_id": "c" * 201, "text": "hi"}, field="client_id")
        await refused(
            api, who, "POST", "/threads", {"client_id": "c9", "text": "hi", "priority": 1001}, field="priority"
        )
        await refused(
            api, who, "POST", "/threads", {"client_id": "c9", "text": "hi", "priority": "high"}, field="priority"
        )
        await refused(
            api, who, "POST", "/threads", {"client_id": "c9", "text": "hi", "priority": 1.5}, field="priority"
        )
        await refused(api, who, "POST", "/threads", {"client_id": "c9", "text": "hi", "channel": "x"}, field="channel")
        await refused(api, who, "POST", "/threads", None, field=None, raw=b'{"client_id": "c9", "text": }')
        # The client's open thread takes the same checks.
        await refused(api, who, "POST", "/threads", {"client_id": "c1", "text": ""}, field="text")
        await refused(api, who, "POST", "/threads", {"client_id": "c1", "text": TOO_LONG}, field="text")

    messages = f"/threads/{s.thread_id}/messages"
    await refused(api, s.agent, "POST", messages, {"text": ""}, field="text")
    await refused(api, s.agent, "POST", messages, {"text": "\n\t "}, field="text")
    await refused(api, s.agent, "POST", messages, {"text": TOO_LONG}, field="text")
    await refused(api, s.agent, "POST", messages, {"text": 42}, field="text")
    await refused(api, s.agent, "POST", messages, {"text": ["hi"]}, field="text")
    await refused(api, s.agent, "POST", messages, {}, field="text")
    await refused(api, s.agent, "POST", messages, {"text": "hi", "author": "client"}, field="author")
    await refused(api, s.agent, "POST", messages, None, field=None, raw=b"{text: hi}")
    await refused(api, s.agent, "POST", "/threads/999/messages", {"text": "hi"}, status=404, field="thread_id")
    await refused(api, s.agent, "POST", f"/threads/{HUGE_ID}/messages", {"text": "hi"}, status=404, field="thread_id")
    assert await snapshot(api) == before


async def test_bad_thread_ids_transfers_and_pins_change_nothing(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    transfer = f"/threads/{s.thread_id}/transfer"
    for who in (s.agent, s.supervisor):
        await refused(api, who, "POST", transfer, {"agent_id": str(s.idle.id)}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": 1.5}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": True}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": 0}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": -3}, field="agent_id")
        await refused(api, who, "POST", transfer, {}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": s.idle.id, "note": "x"}, field="note")
        # Not an agent: a supervisor, an integration, nobody at all.
        await refused(api, who, "POST", transfer, {"agent_id": s.supervisor.id}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": s.integration.id}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": 999}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": HUGE_ID}, field="agent_id")
        await refused(api, who, "POST", transfer, {"agent_id": HUGER_ID}, field="agent_id")
        await refused(api, who, "POST", "/threads/999/transfer", {"agent_id": s.idle.id}, status=404, field="thread_id")
        await refused(api, who, "POST", f"/threads/{HUGE_ID}/close", status=404, field="thread_id")
        await refused(api, who, "POST", "/threads/999/close", status=404, field="thread_id")
    for method in ("POST", "DELETE"):
        base = f"/threads/{s.thread_id}/messages"
        await refused(api, s.agent, method, f"{base}/999/pin", status=404, field="message_id")
        await refused(api, s.agent, method, f"{base}/{HUGE_ID}/pin", status=404, field="message_id")
        await refused(api, s.agent, method, f"/threads/999/messages/{s.message_id}/pin", status=404, field="thread_id")
    # A message of another thread is not this thread's.
    other = await client_says(api, "c2", "again")
    await refused(
        api,
        s.agent,
        "POST",
        f"/threads/{s.thread_id}/messages/{other['messages'][-1]['id']}/pin",
        status=404,
        field="message_id",
    )
    before["/threads"] = await api.json(api.admin, "GET", "/threads", expect=200)
    before["/queue"] = await api.json(api.admin, "GET", "/queue", expect=200)
    await refused(api, api.admin, "GET", "/threads/999", status=404, field="thread_id")
    for huge in (HUGE_ID, HUGER_ID):
        await refused(api, api.admin, "GET", f"/threads/{huge}", status=404, field="thread_id")
        await refused(api, api.admin, "GET", f"/agents/{huge}", status=404, field="agent_id")
    await refused(api, api.admin, "GET", "/threads/abc", status=404, field=None)
    assert await snapshot(api) == before


async def test_bad_approvals_and_reasons_change_nothing(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    for verb in ("approve", "reject"):
        await refused(api, s.supervisor, "POST", f"/approvals/999/{verb}", status=404, field="request_id")
        for huge in (HUGE_ID, HUGER_ID):
            await refused(api, s.supervisor, "POST", f"/approvals/{huge}/{verb}", status=404, field="request_id")
    await refused(api, s.supervisor, "GET", "/approvals", params={"state": "nonsense"}, field="state")

    await refused(api, api.admin, "POST", "/reasons", {"code": "Bad Code", "label": "Bad"}, field="code")
    await refused(api, api.admin, "POST", "/reasons", {"code": "9lives", "label": "Nine"}, field="code")
    await refused(api, api.admin, "POST", "/reasons", {"code": "", "label": "Empty"}, field="code")
    await refused(api, api.admin, "POST", "/reasons", {"code": "a" * 41, "label": "Long"}, field="code")
    await refused(api, api.admin, "POST", "/reasons", {"code": 5, "label": "Five"}, field="code")
    await refused(api, api.admin, "POST", "/reasons", {"code": "gym"}, field="label")
    await refused(api, api.admin, "POST", "/reasons", {"code": "gym", "label": ""}, field="label")
    await refused(api, api.admin, "POST", "/reasons", {"code": "gym", "label": "   "}, field="label")
    await refused(api, api.admin, "POST", "/reasons", {"code": "gym", "label": "G" * 81}, field="label")
    await refused(
        api,
        api.admin,
        "POST",
        "/reasons",
        {"code": "gym", "label": "Gym", "requires_approval": "yes"},
        field="requires_approval",
    )
    await refused(api, api.admin, "POST", "/reasons", {"code": "gym", "label": "Gym", "colour": "red"}, field="colour")
    await refused(api, api.admin, "POST", "/reasons", {"code": "lunch", "label": "Lunch"}, status=409, field="code")
    for limit in (0, -1, 10081, 2.5, "30", True):  # S10: whole minutes, 1 to a week
        body = {"code": "gym", "label": "Gym", "max_minutes": limit}
        await refused(api, api.admin, "POST", "/reasons", body, field="max_minutes")
        await refused(api, api.admin, "PATCH", "/reasons/lunch", {"max_minutes": limit}, field="max_minutes")
    for taken in ("active", "offline", "kicked_out", "active_free", "overdue"):  # W2 could not filter by them
        await refused(api, api.admin, "POST", "/reasons", {"code": taken, "label": "Taken"}, field="code")
    await refused(api, api.admin, "POST", "/reasons", {"code": "doctor", "label": "Doc"}, status=409, field="code")
    await refused(api, api.admin, "PATCH", "/reasons/nap", {"label": "Nap"}, status=404, field="code")
    await refused(api, api.admin, "PATCH", "/reasons/lunch", {"label": ""}, field="label")
    await refused(api, api.admin, "PATCH", "/reasons/lunch", {"label": "  "}, field="label")
    await refused(api, api.admin, "PATCH", "/reasons/lunch", {"label": 3}, field="label")
    await refused(api, api.admin, "PATCH", "/reasons/lunch", {"requires_approval": "no"}, field="requires_approval")
    await refused(api, api.admin, "PATCH", "/reasons/lunch", {"code": "food"}, field="code")
    await refused(api, api.admin, "DELETE", "/reasons/nap", status=404, field="code")
    await refused(api, api.admin, "DELETE", "/reasons/" + "n" * 300, status=404, field="code")
    assert await snapshot(api) == before


async def test_settings_out_of_range_change_nothing(api: Api) -> None:
    await scene(api)
    before = await snapshot(api)
    for body, field in [
        ({"response_timeout": 0}, "response_timeout"),
        ({"response_timeout": -5}, "response_timeout"),
        ({"response_timeout": 10**12}, "response_timeout"),
        ({"response_timeout": "60"}, "response_timeout"),
        ({"prompt_timeout": 0}, "prompt_timeout"),
        ({"prompt_timeout": True}, "prompt_timeout"),
        ({"client_affinity_timeout": -1}, "client_affinity_timeout"),
        ({"affinity_wait": -1}, "affinity_wait"),
        ({"affinity_wait": -0.5}, "affinity_wait"),
        ({"strategy": "random"}, "strategy"),
        ({"strategy": 1}, "strategy"),
        ({"on_logout": "drop"}, "on_logout"),
        ({"default_capacity": 0}, "default_capacity"),
        ({"default_capacity": -2}, "default_capacity"),
        ({"default_capacity": 1001}, "default_capacity"),
        ({"default_capacity": 2.5}, "default_capacity"),
        ({"default_capacity": "3"}, "default_capacity"),
        ({"queue_limit": 3}, "queue_limit"),
        ({"service_level_target": 0}, "service_level_target"),  # W5: 1 s to an hour
        ({"service_level_target": 3601}, "service_level_target"),
        ({"service_level_target": "20"}, "service_level_target"),
        # One bad setting among good ones: none of them is applied.
        ({"strategy": "round_robin", "prompt_timeout": 10, "default_capacity": 0}, "default_capacity"),
        ({}, None),
    ]:
        await refused(api, api.admin, "PATCH", "/settings", body, field=field)
    await refused(api, api.admin, "PATCH", "/settings", None, field=None, raw=b'{"response_timeout": NaN}')
    await refused(
        api, api.admin, "PATCH", "/settings", None, field="response_timeout", raw=b'{"response_timeout": 1e999}'
    )
    await refused(api, api.admin, "PATCH", "/settings", None, field=None, raw=b"[]")
    assert await snapshot(api) == before


async def test_bad_query_parameters_are_refused(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    await refused(api, s.supervisor, "GET", "/agents", params={"status": "nonsense"}, field="status")
    await refused(api, s.supervisor, "GET", "/agents", params={"status": ""}, field="status")
    for ids in ("abc", "1,x", "1;2", "1.5"):
        await refused(api, s.supervisor, "GET", "/presence", params={"ids": ids}, field="ids")
    for limit in ("0", "-1", "1001", "abc", "1.5"):
        await refused(api, s.supervisor, "GET", "/queue", params={"limit": limit}, field="limit")
    await refused(api, s.supervisor, "GET", "/threads", params={"state": "open"}, field="state")
    for limit in ("0", "501", "many"):
        await refused(api, s.supervisor, "GET", "/threads", params={"limit": limit}, field="limit")
    await refused(api, s.supervisor, "GET", "/threads", params={"agent_id": "abc"}, field="agent_id")
    await refused(api, s.supervisor, "GET", "/threads", params={"after": "abc"}, field="after")
    await refused(api, s.supervisor, "GET", "/approvals", params={"state": "done"}, field="state")
    # Ids no row has are simply not there; ids no row can have are refused (test_bad_input_bounds.py).
    for params in ({"agent_id": 2**31 - 1}, {"after": 2**63 - 1}, {"after": 0, "state": "closed"}):
        assert (await api.json(api.admin, "GET", "/threads", params=params, expect=200))["items"] == []
    assert await api.json(s.supervisor, "GET", "/presence", params={"ids": "999,1000"}, expect=200) == []
    for params in ({"agent_id": HUGE_ID}, {"after": HUGER_ID}, {"after": -HUGER_ID, "state": "closed"}):
        await refused(api, api.admin, "GET", "/threads", params=params, field=next(iter(params)))
    await refused(api, s.supervisor, "GET", "/presence", params={"ids": f"{HUGER_ID},999"}, field="ids")
    assert await snapshot(api) == before


async def test_text_the_database_cannot_hold_and_oversized_bodies_are_refused(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    nul = "a\u0000b"
    for who, method, path, body, field in [
        (s.integration, "POST", "/threads", {"client_id": "c9", "text": nul}, "text"),
        (s.integration, "POST", "/threads", {"client_id": nul, "text": "hi"}, "client_id"),
        (s.integration, "POST", "/threads", {"client_id": "c1", "text": nul}, "text"),
        (s.agent, "POST", f"/threads/{s.thread_id}/messages", {"text": nul}, "text"),
        (api.admin, "POST", "/reasons", {"code": "gym", "label": nul}, "label"),
        (api.admin, "PATCH", "/reasons/lunch", {"label": nul}, "label"),
        (api.admin, "POST", "/users", {"username": nul, "role": "agent"}, "username"),
        (api.admin, "POST", "/users", {"username": "newbie", "role": "agent", "team": nul}, "team"),
        (api.admin, "PATCH", f"/agents/{s.idle.id}", {"team": nul}, "team"),
        (None, "POST", "/auth/token", {"username": nul, "password": "secret"}, "username"),
    ]:
        await refused(api, who, method, path, body, field=field)
    # A lone surrogate is not Unicode text; a body over 1 MiB is refused before it is read.
    await refused(
        api, s.integration, "POST", "/threads", None, field=None, raw=b'{"client_id": "c9", "text": "\\ud800"}'
    )
    big = b'{"client_id": "c9", "text": "' + b"y" * (1024 * 1024) + b'"}'
    await refused(api, s.integration, "POST", "/threads", None, status=413, field=None, raw=big)
    assert await snapshot(api) == before
    users = await api.json(api.admin, "GET", "/users", expect=200)
    assert "newbie" not in {u["username"] for u in users}


async def test_no_token_or_a_bad_token_is_401(api: Api) -> None:
    s = await scene(api)
    before = await snapshot(api)
    impostor = Person(id=s.agent.id, username=s.agent.username, role="agent", token="not-a-token")
    for who in (None, impostor):
        for method, path, body in [
            ("GET", "/me", None),
            ("PUT", "/me/status", {"state": "offline"}),
            ("POST", "/me/logout", None),
            ("GET", "/agents", None),
            ("POST", "/threads", {"client_id": "c9", "text": "hi"}),
            ("PATCH", "/settings", {"default_capacity": 1}),
            ("DELETE", "/reasons/lunch", None),
            ("POST", f"/approvals/{s.request_id}/approve", None),
            ("GET", "/queue", None),
            ("GET", "/presence", None),
        ]:
            await refused(api, who, method, path, body, status=401, field=None, code="unauthorized")
    for header in ("Basic abc", "Bearer", s.agent.token):
        response = await api.http.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert api.error(response)["code"] == "unauthorized"
    signin = await api.call(None, "POST", "/auth/token", {"username": s.agent.username, "password": "wrong-password"})
    assert signin.status_code in (400, 401)
    api.error(signin)
    assert await snapshot(api) == before


async def test_refusals_say_every_invalid_field_of_a_body_in_words(api: Api) -> None:
    """A body's decoding and the settings' rules answer every invalid field at once (`errors`,
    the first being `error`), in words rather than the validator's terms; nothing changes."""
    await scene(api)
    before = await snapshot(api)

    async def errors(method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = await api.call(api.admin, method, path, body, params=params)
        assert response.status_code == 400, response.text
        return api.errors(response)

    assert await errors("POST", "/reasons", {"code": "gym", "label": ""}) == {"label": "label must not be empty"}
    assert await errors("POST", "/reasons", {"code": "gym", "label": "G" * 81}) == {
        "label": "label must be at most 80 characters long"
    }
    assert await errors("POST", "/reasons", {"label": 3, "requires_approval": "yes", "colour": "red"}) == {
        "code": "code is required",
        "label": "label must be text, not 3",
        "requires_approval": 'requires_approval must be true or false, not "yes"',
        "colour": "colour is not a field of this request; it takes code, label, requires_approval, max_minutes",
    }
    # The catalogue's own rules (S1, S10's time limit), with the types', all at once.
    said = await errors("POST", "/reasons", {"code": "Bad Code", "label": "", "max_minutes": 0})
    assert said == {
        "code": "reason code must be 1-40 characters: a lowercase letter, then lowercase letters, digits or _",
        "label": "label must not be empty",
        "max_minutes": "max_minutes must be a whole number of minutes from 1 to 10,080 (7 days), or null for no limit",
    }
    assert await errors("PATCH", "/reasons/lunch", {"label": "  ", "max_minutes": 1.5}) == {
        "label": "label must not be empty",
        "max_minutes": "max_minutes must be a whole number, not 1.5",
    }
    assert await errors("POST", "/reasons", {"code": "overdue", "label": "Late"}) == {
        "code": "reason code 'overdue' is the name of a status filter; choose another"
    }

    # Settings: wrong types and broken rules in one answer, in the order of the settings.
    said = await errors(
        "PATCH",
        "/settings",
        {"prompt_timeout": "30", "default_capacity": 2.5, "strategy": "random", "response_timeout": 0},
    )
    assert list(said) == ["response_timeout", "prompt_timeout", "strategy", "default_capacity"]
    assert said == {
        "response_timeout": "response_timeout must be from 1 to 2,592,000 seconds (30 days)",
        "prompt_timeout": 'prompt_timeout must be a number, not "30"',
        "strategy": 'strategy must be one of: least_busy, longest_idle, round_robin, not "random"',
        "default_capacity": "default_capacity must be a whole number, not 2.5",
    }
    assert await errors("PATCH", "/settings", {"on_disconnect": {"state": "nap"}}) == {
        "on_disconnect": 'on_disconnect.state must be one of: inactive, offline, not "nap"'
    }
    assert await errors(
        "PATCH",
        "/settings",
        {
            "response_timeout": 0,
            "return_window": 2_592_001,
            "default_capacity": 0,
            "idle_timeout": 30,
            "time_zone": "Mars/Base",
            "service_level_target": 3601,
        },
    ) == {
        "response_timeout": "response_timeout must be from 1 to 2,592,000 seconds (30 days)",
        "default_capacity": "default_capacity must be a whole number from 1 to 1,000",
        "return_window": "return_window must be from 0 (off) to 2,592,000 seconds (30 days)",
        "idle_timeout": "idle_timeout must be 0 (off) or at least 120 seconds: pages report input once a minute",
        "time_zone": "time_zone 'Mars/Base' is not a known IANA time zone",
        "service_level_target": "service_level_target must be from 1 to 3,600 seconds (60 minutes)",
    }
    assert await errors("POST", "/users", {"username": "x", "role": "boss", "password": "short", "capacity": 0}) == {
        "role": 'role must be one of: admin, agent, integration, supervisor, not "boss"',
        "password": "password must be at least 8 characters long",
        "capacity": "capacity must be a whole number from 1 to 1,000",
    }
    assert await errors("POST", f"/threads/{HUGE_ID}/transfer", {"agent_id": 1.5}) == {
        "agent_id": "agent_id must be a whole number from 1 to 2,147,483,647, not 1.5"
    }
    assert await errors("GET", "/queue", params={"limit": "many"}) == {"limit": "limit must be a whole number"}
    assert await errors("PATCH", "/settings", []) == {None: "the body must be a JSON object, not a list"}
    assert await snapshot(api) == before
