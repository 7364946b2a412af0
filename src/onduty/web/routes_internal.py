"""Between instances: a follower's own commands, applied by the owner (service/forwarding.py).

Not part of the API (not in its document): called only by the instances that share the
database, with the secret they keep there (storage/instances.py). A reverse proxy in
front of the instances need not route `/internal/` at all (docs/deploy.md).
"""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Request, Response, post

from onduty.service.command_codec import CommandDecodeError, from_dict
from onduty.service.forwarding import NOT_OWNER
from onduty.service.idempotency import valid_key
from onduty.web.context import bearer, context_of
from onduty.web.errors import RETRY_AFTER, ApiError, body


class _Forwarded(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    command: dict[str, Any]


@post("/internal/v1/commands", include_in_schema=False, status_code=200)
async def apply_command(request: Request[Any, Any, Any]) -> Response[Any]:
    node = context_of(request).node
    token = bearer(request)
    if node.secret is None or token is None or not hmac.compare_digest(token.encode(), node.secret.encode()):
        raise ApiError(403, "forbidden", "only the instances sharing this workspace's database call this", None)
    if node.forwards:
        answer = body(503, "unavailable", "this instance does not own the workspace; try again", None)
        answer.headers.update({NOT_OWNER: "1", "Retry-After": RETRY_AFTER})
        return answer
    try:
        sent = msgspec.json.decode(await request.body(), type=_Forwarded)
        command = from_dict(sent.command)
    except (msgspec.DecodeError, msgspec.ValidationError, CommandDecodeError) as error:
        raise ApiError(400, "invalid", f"not a forwarded command: {error}", None) from None
    if not valid_key(sent.key):
        raise ApiError(400, "invalid", "the key is 1 to 100 printable ASCII characters", "key")
    await node.execute(command, key=sent.key)
    return Response({"event_id": node.committed_event_id})


ROUTES = [apply_command]
