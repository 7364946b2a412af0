"""Instants (POSIX seconds) to and from the API's ISO 8601 UTC."""

from __future__ import annotations

import functools
from datetime import UTC, datetime


def iso(instant: float | None) -> str | None:
    if instant is None or instant == float("-inf"):
        return None
    return _iso(instant)


@functools.lru_cache(maxsize=64)
def _iso(instant: float) -> str:
    # Cached: one command's events, rows and answer show the same few instants again and again.
    return datetime.fromtimestamp(instant, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    """ISO 8601 to POSIX seconds; a time without an offset is taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
