"""A follower's way to the owner (service/forwarding.py), against a real HTTP server on
loopback standing in for the owner: what is sent again, under which key, and when the
caller hears ServiceUnavailable."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from onduty.domain import commands as c
from onduty.domain.errors import Conflict
from onduty.domain.types import Actor
from onduty.service.forwarding import INTERNAL_COMMANDS, Forwarder
from onduty.service.service import ServiceUnavailable
from tests.integration.conftest import ServeAsgi, read_body

Scope = dict[str, Any]


@dataclass
class StandIn:
    """An ASGI app answering each request with the next of `answers` (status, JSON body),
    the last one for ever, and keeping what it received."""

    answers: list[tuple[int, Any]]
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((scope["path"], headers, body))
        status, document = self.answers[min(len(self.received), len(self.answers)) - 1]
        payload = json.dumps(document).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": payload})


def owner_at(*addresses: str | None) -> Any:
    """Where the owner is, as the database would say at each look: one answer per look,
    the last for ever."""
    looks: list[bool] = []

    async def find(refresh: bool) -> str | None:
        looks.append(refresh)
        return addresses[min(len(looks), len(addresses)) - 1]

    return find


async def test_a_command_waits_for_an_owner_and_is_sent_under_one_key(serve: ServeAsgi) -> None:
    owner = StandIn(
        [(503, {"error": {"code": "unavailable", "message": "not yet", "field": None}}), (200, {"event_id": 42})]
    )
    address = await serve(owner)
    forwarder = Forwarder(owner_at(None, None, address), "secret", wait=5.0)
    try:
        assert await forwarder.command(c.Login(7), "k:Login:1") == 42
    finally:
        await forwarder.close()
    assert len(owner.received) == 2  # its 503, then the command applied
    for path, headers, body in owner.received:
        assert path == INTERNAL_COMMANDS
        assert headers["authorization"] == "Bearer secret"
        assert json.loads(body) == {"key": "k:Login:1", "command": {"type": "Login", "agent_id": 7}}
    assert forwarder.retries == 3  # two looks with no owner, one 503


async def test_a_request_meets_no_owner_for_longer_than_it_waits(serve: ServeAsgi) -> None:
    unreachable = "http://127.0.0.1:9"  # discard: nothing listens
    forwarder = Forwarder(owner_at(unreachable), "secret", wait=0.5)
    try:
        with pytest.raises(ServiceUnavailable, match="did not answer"):
            await forwarder.request("POST", "/api/v1/threads", {"idempotency-key": "k"}, b"{}")
    finally:
        await forwarder.close()


async def test_the_owners_refusal_comes_back_as_the_domain_error(serve: ServeAsgi) -> None:
    refusal = {"error": {"code": "conflict", "message": "agent 7 is offline", "field": "agent_id"}}
    address = await serve(StandIn([(409, refusal)]))
    forwarder = Forwarder(owner_at(address), "secret")
    try:
        with pytest.raises(Conflict, match="agent 7 is offline") as raised:
            await forwarder.command(c.Logout(7, Actor.agent(7)), "k")
    finally:
        await forwarder.close()
    assert raised.value.field == "agent_id"


async def test_an_answer_that_is_not_503_is_passed_on_as_it_is(serve: ServeAsgi) -> None:
    owner = StandIn([(404, {"error": {"code": "not_found", "message": "no thread 9", "field": "thread_id"}})])
    forwarder = Forwarder(owner_at(await serve(owner)), "secret")
    try:
        answer = await forwarder.request("POST", "/api/v1/threads/9/close?x=1", {"idempotency-key": "k"}, b"")
    finally:
        await forwarder.close()
    assert answer.status == 404
    assert len(owner.received) == 1
    path, headers, _ = owner.received[0]
    assert (path, headers["idempotency-key"], headers["onduty-forwarded"]) == ("/api/v1/threads/9/close", "k", "1")
