"""Small steps the rule tests through the API share: threads in, rows and the queue out."""

from __future__ import annotations

from typing import Any

from tests.integration.api_client import Api, Person


async def client_says(api: Api, client_id: str, text: str = "hello", *, priority: int | None = None) -> dict[str, Any]:
    """A client's message, pushed in as the integration channel would (admin may too)."""
    body: dict[str, Any] = {"client_id": client_id, "text": text}
    if priority is not None:
        body["priority"] = priority
    thread: dict[str, Any] = await api.json(api.admin, "POST", "/threads", body, expect=201)
    return thread


async def row(api: Api, agent: Person, viewer: Person | None = None) -> dict[str, Any]:
    """The agent object (W1, W3) as a supervisor or admin reads it."""
    found: dict[str, Any] = await api.json(viewer or api.admin, "GET", f"/agents/{agent.id}", expect=200)
    return found


async def status(api: Api, agent: Person) -> dict[str, Any]:
    return (await row(api, agent))["status"]  # type: ignore[no-any-return]


async def queue(api: Api) -> dict[str, Any]:
    found: dict[str, Any] = await api.json(api.admin, "GET", "/queue", expect=200)
    return found


async def queue_ids(api: Api) -> list[int]:
    return [item["id"] for item in (await queue(api))["items"]]


async def thread(api: Api, thread_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await api.json(api.admin, "GET", f"/threads/{thread_id}", expect=200)
    return found


async def answer(api: Api, agent: Person, thread_id: int, text: str = "on it") -> dict[str, Any]:
    found: dict[str, Any] = await api.json(agent, "POST", f"/threads/{thread_id}/messages", {"text": text}, expect=201)
    return found


async def set_status(api: Api, who: Person, state: str, reason: str | None = None, *, expect: int = 200) -> Any:
    body: dict[str, Any] = {"state": state} if reason is None else {"state": state, "reason": reason}
    return await api.json(who, "PUT", "/me/status", body, expect=expect)


async def set_status_of(
    api: Api, who: Person, agent: Person, state: str, reason: str | None = None, *, expect: int = 200
) -> Any:
    body: dict[str, Any] = {"state": state} if reason is None else {"state": state, "reason": reason}
    return await api.json(who, "PUT", f"/agents/{agent.id}/status", body, expect=expect)


async def add_reason(api: Api, code: str, label: str, *, requires_approval: bool = False) -> dict[str, Any]:
    body = {"code": code, "label": label, "requires_approval": requires_approval}
    found: dict[str, Any] = await api.json(api.admin, "POST", "/reasons", body, expect=201)
    return found
