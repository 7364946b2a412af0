"""A follower's way to the owner: what it receives that changes state goes there.

Two kinds of traffic, one retry rule:

- a request of the API that writes (`request`) goes to the owner whole, with an
  idempotency key: the owner runs the same route, so the check, the command and the
  answer are the owner's, as if the client had called it;
- a command of the follower's own (an agent's stream opening or closing, the first
  sight of a new agent: `command`) goes to the owner's internal endpoint, called with
  the instances' secret.

While no instance owns the workspace (between a death and a takeover), or the owner
cannot be reached, or it answers 503 (its commit failed: nothing changed), the same
request is sent again under the same key, to whoever owns the workspace by then, until
`wait` seconds have passed; then the caller hears ServiceUnavailable. The key makes it
safe: a command the old owner committed before dying is in the log the new owner
applied, with its key, and is not applied again (idempotency.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from onduty.domain import commands as c
from onduty.domain.errors import Conflict, DomainError, Forbidden, NotFound
from onduty.service.command_codec import to_dict
from onduty.service.http_client import Client, Response, TransportError
from onduty.service.service import ServiceUnavailable

INTERNAL_COMMANDS = "/internal/v1/commands"
NOT_OWNER = "onduty-not-owner"  # header of a 503 from an instance that does not own the workspace
EVENT_ID = "onduty-event-id"  # header: the journal's last id when the owner answered
FORWARDED = "onduty-forwarded"  # header: sent by a follower; the owner does not forward it again
IDEMPOTENCY_KEY = "idempotency-key"
FORWARD_WAIT = 15.0  # seconds: a takeover (at most about 4 s) and the retried request
ATTEMPT_TIMEOUT = 6.0  # seconds one attempt may take: longer than a lease, so a paused owner is replaced
PAUSE = 0.1  # seconds between attempts
# Requests in flight to the owner at once, each on a connection of its own kept open for the
# next; more wait their turn, within their attempt's time.
POOL_SIZE = 100

OwnerAddress = Callable[[bool], Awaitable[str | None]]  # (refresh) -> the owner's base URL, or None

_REFUSALS: dict[int, type[DomainError]] = {404: NotFound, 409: Conflict, 403: Forbidden}


class OwnerHere(ServiceUnavailable):
    """This instance took the workspace over while it was forwarding: what it was sending is
    its own to apply now, under the same key (a command the old owner committed is known to
    it and is not applied again)."""


class Forwarder:
    def __init__(
        self,
        owner_address: OwnerAddress,
        secret: str,
        *,
        wait: float = FORWARD_WAIT,
        owns: Callable[[], bool] = lambda: False,
    ) -> None:
        self._owner_address = owner_address
        self._secret = secret
        self._wait = wait
        self._owns = owns  # whether this instance owns the workspace now
        # Connections kept open to the owner: a busy floor's writes (hundreds a second) share
        # them without a handshake each. Every request sent carries a key, so the client may
        # send one again on a new connection when a kept-alive one turns out closed.
        self._client = Client(size=POOL_SIZE, timeout=ATTEMPT_TIMEOUT)
        self.requests = 0  # forwarded API requests
        self.commands = 0  # forwarded commands of this instance's own
        self.retries = 0  # attempts sent again (no owner, owner away, owner's 503)

    async def close(self) -> None:
        await self._client.close()

    async def command(self, command: c.Command, key: str) -> int:
        """Applies `command` on the owner under `key`; returns the journal's last id once it
        is committed. Raises the DomainError the owner refused it with, or ServiceUnavailable."""
        self.commands += 1
        body = msgspec.json.encode({"key": key, "command": to_dict(command)})
        headers = {"authorization": f"Bearer {self._secret}", "content-type": "application/json"}
        response = await self._send("POST", INTERNAL_COMMANDS, headers, body)
        if response.status == 200:
            return int(msgspec.json.decode(response.body)["event_id"])
        raise _refusal(response)

    async def request(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        """The client's request (`target`: path and query), sent to the owner as it came, with
        the headers given (an idempotency key among them); the owner's answer as it is."""
        self.requests += 1
        return await self._send(method, target, headers, body)

    async def _send(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        deadline = time.monotonic() + self._wait
        refresh = False
        why = "no instance owns the workspace"
        while True:
            if self._owns():  # no owner to wait for: it is this instance
                raise OwnerHere("this instance owns the workspace now")
            address = await self._owner_address(refresh)
            if address is not None:
                try:
                    response = await self._client.request(address, method, target, {**headers, FORWARDED: "1"}, body)
                except TransportError as error:
                    why = f"the owner did not answer ({error})"
                else:
                    if response.status != 503:
                        return response
                    why = "the owner could not apply it"
            if time.monotonic() + PAUSE > deadline:
                raise ServiceUnavailable(f"{why}; nothing was changed; try again")
            self.retries += 1
            refresh = True
            await asyncio.sleep(PAUSE)


def _refusal(response: Response) -> Exception:
    """The owner's refusal as the error it was there."""
    try:
        error: dict[str, Any] = msgspec.json.decode(response.body)["error"]
        message, field, code = str(error["message"]), error.get("field"), str(error["code"])
    except (msgspec.DecodeError, KeyError, TypeError):
        return ServiceUnavailable(f"the owner answered {response.status} without saying why")
    if response.status >= 500:
        return ServiceUnavailable(message)
    return _REFUSALS.get(response.status, DomainError)(message, field=field, code=code)
