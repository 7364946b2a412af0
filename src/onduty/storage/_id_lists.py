"""The pin list a thread row carries, as text.

`threads.pinned_ids` repeats, in the thread's own row, what the `messages`
table says of an open thread: which of its messages are pinned (R8), in the
order they were pinned. The projection writes it with the rest of the row, in
the same transaction as the messages. It is there for the start: the engine
counts each agent's pins (W1) from 500,000 open threads by reading one row a
thread, where the messages table gave one row a message (docs/performance.md,
restart).

The format is decimal ids joined by commas, "" for none: plain in either
database, and readable by hand.
"""

from __future__ import annotations

from collections.abc import Iterable


def encode(ids: Iterable[int]) -> str:
    return ",".join(map(str, ids))


def decode(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else ()
