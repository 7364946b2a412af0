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
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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
    issued: int = 0


_request: contextvars.ContextVar[_RequestKey | None] = contextvars.ContextVar("onduty_request_key", default=None)


@contextmanager
def request_key(key: str | None) -> Iterator[None]:
    """Within it, the commands a request gives are keyed `key:1`, `key:2`, … in order
    (a retried request gives the same commands in the same order: the same keys)."""
    if key is None:
        yield
        return
    token = _request.set(_RequestKey(key))
    try:
        yield
    finally:
        _request.reset(token)


def next_key() -> str | None:
    """The key of the request's next command; None outside a keyed request."""
    current = _request.get()
    if current is None:
        return None
    current.issued += 1
    return f"{current.base}:{current.issued}"


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
