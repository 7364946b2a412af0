"""Operators' endpoints: readiness, liveness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from tests.integration.api_client import Api


async def test_healthz_answers_when_the_database_does(api: Api) -> None:
    response = await api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ping_answers_without_a_token_or_the_database(api: Api) -> None:
    response = await api.http.get("/ping")
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_metrics_count_status_changes_assignments_commits_and_clients(api: Api) -> None:
    agent = await api.ready_agent()
    chat = await api.person("integration")
    await api.call(chat, "POST", "/threads", {"client_id": "c1", "text": "hi"}, expect=201)
    text = (await api.http.get("/metrics")).text
    values = {
        line.split()[0]: float(line.split()[-1]) for line in text.splitlines() if line and not line.startswith("#")
    }
    assert values["onduty_status_changes_total"] >= 2  # login, then active
    assert values["onduty_assignments_total"] == 1
    assert values["onduty_queue_length"] == 0
    assert values["onduty_commit_seconds_count"] >= 1
    assert "onduty_connected_clients" in values
    assert agent.id > 0


async def test_the_openapi_document_describes_every_api_route(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    for path in ("/api/v1/me/status", "/api/v1/agents", "/api/v1/threads", "/api/v1/reports/workload", "/ping"):
        assert path in paths
