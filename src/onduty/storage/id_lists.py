"""The id lists a thread row carries: its message ids and its pins, as text.

`threads.message_ids` and `threads.pinned_ids` repeat, in the thread's own row,
what the `messages` table says of an open thread: which messages it has, and
which of them are pinned (R8), in the engine's order. The projection writes
them with the rest of the row (every message already rewrites its thread's
row), in the same transaction as the messages. They are there for the start:
reading 500,000 open threads with their lists takes one row a thread, where
the messages table gave one row a message (docs/performance.md, restart).

The format is decimal ids joined by commas, "" for none: plain in either
database, readable by hand, and cheap to read in bulk (`decode_all`).
The row is rewritten whole at each message, so a thread's n-th message writes
its n ids: a few kilobytes at a few hundred messages, which chats rarely pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence


def encode(ids: Iterable[int]) -> str:
    return ",".join(map(str, ids))


def decode(text: str) -> list[int]:
    return [int(part) for part in text.split(",")] if text else []


def decode_all(texts: Sequence[str]) -> list[list[int]]:
    """Many lists at once: as one JSON document, parsed in C (0.2 s for 500,000 lists,
    where decoding them one by one took 0.45 s). Each text was written by `encode`."""
    lists: list[list[int]] = json.loads("[[" + "],[".join(texts) + "]]") if texts else []
    return lists
