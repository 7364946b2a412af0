"""Idempotency keys: a command retried under the key it was applied with is not applied again.

A request may be sent twice: a follower forwards it to the owner, the owner dies after
its commit but before answering, and the follower sends it again to the new owner; or a
client retries with its own `Idempotency-Key`. Each command such a request gives is
applied under a key (the request's key and the command's number within the request,
`next_key`), and the key goes to the command log with the command, in the batch's
transaction (command_codec.py). Whoever applies the log (the owner as it commits, a
follower as it follows, an owner rebuilt from the database) remembers the keys of the last
`KEY_SECONDS`, so a retry within that time finds its key and is answered from the state
instead of being applied again.

A command's key within its request is its kind and its number among the request's commands
of that kind (`<key>:Transfer:1`): a route may give a command only sometimes (a new agent's
`RegisterAgent` the first time it is seen), and a retry that skips it must not shift the
keys of the commands that follow.

A client's key is its own: the commands are keyed with it and a digest of the credential
the request came with (`caller_key`). Two clients that happen to choose the same key
(a counter, a short random string) would otherwise share it, and the second one's write
would be taken for a retry of the first: not applied, yet acknowledged.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from onduty.service.command_codec import decode_keyed_batch
from onduty.storage.base import Store

# Long beyond any retry (a forwarder gives up after seconds), short enough to stay small:
# at a few thousand keyed commands a minute, some tens of thousands of short strings.
KEY_SECONDS = 600.0
MAX_KEY_LENGTH = 100


class RecentKeys:
    """The keys applied in the last `seconds` of the engine's time, oldest first."""

    __slots__ = ("_at", "seconds")

    def __init__(self, seconds: float = KEY_SECONDS) -> None:
        self.seconds = seconds
        self._at: dict[str, float] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._at

    def __len__(self) -> int:
        return len(self._at)

    def add(self, key: str, at: float) -> None:
        """`key` was applied at `at` (batches come in time order, so the dict stays in it)."""
        keys = self._at
        keys[key] = at
        horizon = at - self.seconds
        while keys:
            oldest = next(iter(keys))
            if keys[oldest] >= horizon:
                break
            del keys[oldest]


@dataclass(slots=True)
class _RequestKey:
    base: str
    issued: dict[str, int] = field(default_factory=dict)  # by command kind


_request: contextvars.ContextVar[_RequestKey | None] = contextvars.ContextVar("onduty_request_key", default=None)


@contextmanager
def request_key(key: str | None) -> Iterator[None]:
    """Within it, the commands a request gives are keyed by the request's key, their kind and
    their number among those of their kind (a retried request gives the same keys)."""
    if key is None:
        yield
        return
    token = _request.set(_RequestKey(key))
    try:
        yield
    finally:
        _request.reset(token)


def next_key(kind: str) -> str | None:
    """The key of the request's next command of `kind`; None outside a keyed request."""
    current = _request.get()
    if current is None:
        return None
    number = current.issued.get(kind, 0) + 1
    current.issued[kind] = number
    return f"{current.base}:{kind}:{number}"


def caller_key(key: str, credential: str) -> str:
    """The key a request's commands are keyed with: the client's `key` and a digest of its
    `credential` (the Authorization header's value; a retry comes with the same one)."""
    return f"{key}@{hashlib.blake2b(credential.encode(), digest_size=8).hexdigest()}"


def valid_key(key: str) -> bool:
    """A key a client may send: 1 to MAX_KEY_LENGTH printable ASCII characters."""
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


async def recent_keys(store: Store, now: float, *, through: int | None = None) -> RecentKeys:
    """The keys the command log holds for the KEY_SECONDS before `now` (up to the row
    `through`, when given: the position a follower's copy was read at)."""
    keys = RecentKeys()
    for row in await store.command_log_since(now - KEY_SECONDS):
        if through is not None and row.id > through:
            break
        for _, key in decode_keyed_batch(row.commands):
            if key is not None:
                keys.add(key, row.at)
    return keys
