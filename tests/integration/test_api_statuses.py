"""Statuses through the API (S1-S6), on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.integration.api_client import Api


async def test_s2_agent_goes_active_and_the_supervisor_sees_it(api: Api) -> None:
    supervisor = await api.person("supervisor")
    agent = await api.ready_agent()
    rows = await api.json(supervisor, "GET", "/agents", expect=200)
    row = next(r for r in rows if r["id"] == agent.id)
    assert row["status"]["state"] == "active"
    assert row["status"]["label"] == "Active (free)"
    assert row["presence"] == "online"


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
