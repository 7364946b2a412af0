"""What /openapi.json says is what the server accepts and answers: enumerated values, ranges,
patterns, bodies that refuse unknown fields, the bearer token and where it is needed, every
status a route answers. And HTTP's own answers about methods: `OPTIONS` lists all of a path's
methods, a method the path lacks is 405 with `Allow`, TRACE is never echoed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api_client import Api

REASON_CODE = "^[a-z][a-z0-9_]{0,39}$"
MAX_ID, MAX_BIG_ID = 2**31 - 1, 2**63 - 1


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    served: dict[str, Any] = (await api.http.get("/openapi.json")).json()
    return served


def parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    operation = document["paths"][f"/api/v1{path}"][method]
    [found] = [p for p in operation["parameters"] if p["name"] == name]
    schema: dict[str, Any] = found["schema"]
    return schema


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


async def test_enumerated_parameters_list_their_values(document: dict[str, Any]) -> None:
    assert parameter(document, "get", "/approvals", "state")["enum"] == ["pending", "approved", "rejected", "cancelled"]
    assert parameter(document, "get", "/threads", "state")["enum"] == ["assigned", "closed", "in_progress", "queued"]
    for path in ("/reports/status-log", "/reports/workload"):
        assert parameter(document, "get", path, "format")["enum"] == ["json", "csv"]
        assert parameter(document, "get", path, "period")["enum"] == ["day", "week"]
        assert parameter(document, "get", path, "date")["pattern"] == "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"
    # W2: a state, active_free or a reason code, all written as reason codes are.
    assert parameter(document, "get", "/agents", "status")["pattern"] == REASON_CODE
    # P1: the same, or inactive:<code> as the workload report's time_in_status keys.
    assert parameter(document, "get", "/reports/status-log", "status")["pattern"] == "^(?:inactive:)?" + REASON_CODE[1:]


async def test_limits_and_ids_have_their_ranges(document: dict[str, Any]) -> None:
    def bounds(schema: dict[str, Any]) -> tuple[int, int]:
        return schema["minimum"], schema["maximum"]

    assert bounds(parameter(document, "get", "/queue", "limit")) == (1, 1000)
    assert bounds(parameter(document, "get", "/threads", "limit")) == (1, 500)
    assert bounds(parameter(document, "get", "/reports/status-log", "limit")) == (1, 5000)
    for path in ("/threads", "/reports/status-log"):
        assert bounds(parameter(document, "get", path, "agent_id")) == (1, MAX_ID)
        assert bounds(parameter(document, "get", path, "after")) == (0, MAX_BIG_ID)
    assert bounds(parameter(document, "get", "/reports/status-log", "before")) == (1, MAX_BIG_ID)
    assert bounds(parameter(document, "get", "/agents/{agent_id}", "agent_id")) == (1, MAX_ID)
    assert bounds(parameter(document, "post", "/approvals/{request_id}/approve", "request_id")) == (1, MAX_ID)
    assert bounds(parameter(document, "get", "/threads/{thread_id}", "thread_id")) == (1, MAX_BIG_ID)
    transfer = component(document, "TransferRequest")["properties"]["agent_id"]
    assert bounds(transfer) == (1, MAX_ID)
    settings = component(document, "SettingsPatch")["properties"]
    assert bounds(settings["response_timeout"]) == (1, 30 * 24 * 3600)
    assert bounds(settings["default_capacity"]) == (1, 1000)
    assert bounds(settings["service_level_target"]) == (1, 3600)  # W5
    for body in ("ReasonRequest", "ReasonPatch"):  # S10
        assert bounds(component(document, body)["properties"]["max_minutes"]) == (1, 7 * 24 * 60)


async def test_w5_s10_the_floor_and_the_overdue_mark_are_published(document: dict[str, Any]) -> None:
    floor = document["paths"]["/api/v1/floor"]["get"]
    assert {p["name"] for p in floor["parameters"]} == {"team"}
    assert floor["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Floor"}
    assert set(component(document, "Floor")["properties"]) == {"counts", "queue", "today"}
    assert component(document, "FloorQueue")["properties"]["routing"]["enum"] == ["flowing", "halted", "at_capacity"]
    today = set(component(document, "FloorToday")["properties"])
    assert today == {"received", "answered", "mean_first_answer_seconds", "service_level", "service_level_target"}
    assert {"overdue", "overdue_at"} <= set(component(document, "Agent")["properties"])
    assert "max_minutes" in component(document, "Reason")["properties"]
    assert "service_level_target" in component(document, "Settings")["properties"]


async def test_reason_codes_and_text_have_their_patterns(document: dict[str, Any]) -> None:
    assert component(document, "ReasonRequest")["properties"]["code"]["pattern"] == REASON_CODE
    assert component(document, "StatusRequest")["properties"]["reason"]["pattern"] == REASON_CODE
    assert parameter(document, "patch", "/reasons/{code}", "code")["pattern"] == REASON_CODE
    # No NUL anywhere (PostgreSQL cannot store it); stripped text must keep a character.
    assert component(document, "TokenRequest")["properties"]["username"]["pattern"] == "^[^\\u0000]*$"
    text = component(document, "ClientMessageRequest")["properties"]["text"]["pattern"]
    assert text == "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


async def test_request_bodies_refuse_unknown_fields_in_the_document_too(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    inputs = [name for name in schemas if name.endswith(("Request", "Patch")) and name != "ApprovalRequest"]
    assert len(inputs) >= 10, inputs
    for name in [*inputs, "OnDisconnect"]:
        assert schemas[name]["additionalProperties"] is False, name
    for name in ("Agent", "Thread", "ErrorResponse", "ApprovalRequest"):  # answers may grow
        assert "additionalProperties" not in schemas[name], name


async def test_a_bearer_token_is_declared_where_it_is_needed_and_only_there(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    public = {("post", "/api/v1/auth/token"), ("get", "/healthz"), ("get", "/ping"), ("get", "/metrics")}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            expected: list[dict[str, list[str]]] | None = None if (method, path) in public else [{"bearer": []}]
            assert operation.get("security") == expected, f"{method} {path}"
            if expected is not None:
                assert "401" in operation["responses"], f"{method} {path}"


async def test_reports_document_their_csv_form(document: dict[str, Any]) -> None:
    for path in ("/api/v1/reports/status-log", "/api/v1/reports/workload"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, path


async def test_healthz_documents_its_503(document: dict[str, Any]) -> None:
    answers = document["paths"]["/healthz"]["get"]["responses"]
    assert set(answers) == {"200", "503"}
    assert answers["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/agents/1", "GET, OPTIONS, PATCH"),
        ("/api/v1/threads", "GET, OPTIONS, POST"),
        ("/api/v1/reasons/lunch", "DELETE, OPTIONS, PATCH"),
        ("/api/v1/threads/1/messages/1/pin", "DELETE, OPTIONS, POST"),
        ("/api/v1/me/status", "OPTIONS, PUT"),
        ("/healthz", "GET, OPTIONS"),
    ],
)
async def test_options_lists_every_method_of_the_path(api: Api, path: str, methods: str) -> None:
    response = await api.http.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == methods


async def test_trace_is_405_with_allow_and_never_echoed(api: Api) -> None:
    secret = "Bearer odt_do-not-echo-me"
    for path, methods in [("/api/v1/agents/1", "GET, OPTIONS, PATCH"), ("/api/v1/me", "GET, OPTIONS"), ("/ping", "")]:
        response = await api.http.request("TRACE", path, headers={"Authorization": secret, "X-Probe": "echo?"})
        assert response.status_code == 405, path
        assert "odt_do-not-echo-me" not in response.text and "echo?" not in response.text
        assert response.json()["error"]["code"] == "method_not_allowed"
        allowed = set(response.headers["allow"].split(", "))
        assert allowed == set((methods or "GET, OPTIONS").split(", ")), path
    # Any other method a path lacks says the same.
    response = await api.http.delete("/api/v1/me")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "OPTIONS"}


async def test_a_whole_number_written_with_a_fraction_is_the_same_number(api: Api) -> None:
    """JSON has one kind of number, and JSON Schema calls 3.0 an integer: the integer fields
    take it (3.5 is still refused, naming the field)."""
    chat = await api.person("integration")
    thread = await api.json(chat, "POST", "/threads", {"client_id": "c1", "text": "hi", "priority": 3.0}, expect=201)
    assert thread["priority"] == 3
    response = await api.call(chat, "POST", "/threads", {"client_id": "c2", "text": "hi", "priority": 3.5}, expect=400)
    assert api.error(response)["field"] == "priority"


async def test_ids_and_dates_in_queries_are_plain_digits_as_documented(api: Api) -> None:
    """What int() and date.fromisoformat() read beyond the documented patterns (signs,
    underscores, other scripts' digits, compact or week dates) is refused, naming the field."""
    supervisor = await api.person("supervisor")
    for ids in ("+3", "3_0", "\u0663", "\t3"):
        response = await api.call(supervisor, "GET", "/presence", params={"ids": ids}, expect=400)
        assert api.error(response)["field"] == "ids"
    assert await api.json(supervisor, "GET", "/presence", params={"ids": " 03 , 7,"}, expect=200) == []
    for day in ("20260301", "2026-W10-1"):
        params = {"period": "day", "date": day}
        response = await api.call(supervisor, "GET", "/reports/workload", params=params, expect=400)
        assert api.error(response)["field"] == "date"
