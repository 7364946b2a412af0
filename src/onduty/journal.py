"""The journal's vocabulary: an event as the live stream carries it.

Plain data, shared by the layers that pass events on. The service decides
what an entry says and who may see it (`scope`: service/_audience.py); storage
writes entries as they are and reads them back, numbered; the fan-out and the
web layer hand them to clients. Here, outside every layer, so that storage
can write and read them without knowing the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class JournalEntry:
    """One event as the live stream sends it, before it has its id."""

    name: str
    at: float
    data: dict[str, Any]
    scope: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as it was committed: its id orders the live stream and lets clients resume."""

    id: int
    name: str
    at: float
    data: dict[str, Any]
    scope: dict[str, Any]
