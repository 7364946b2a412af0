"""The machine's PostgreSQL is shared by the suite's workers (pytest-xdist), and one test
restarts it. Every integration test holds this lock shared for its run; the restart holds it
exclusively, so it never cuts another worker's connections mid-test.

A turnstile keeps the restart from waiting forever behind shared holders that follow one
another: a shared taker passes through it, and the restart closes it while it waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

_LOCK = Path(tempfile.gettempdir()) / "onduty-tests-postgres.lock"
_TURNSTILE = Path(tempfile.gettempdir()) / "onduty-tests-postgres.turnstile"


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def postgres_in_use() -> Iterator[None]:
    """Held by a test that may use PostgreSQL."""
    with _flock(_TURNSTILE, fcntl.LOCK_EX):
        pass
    with _flock(_LOCK, fcntl.LOCK_SH):
        yield


@contextlib.contextmanager
def postgres_alone() -> Iterator[None]:
    """Held around a restart of PostgreSQL: no other test is using it meanwhile."""
    with _flock(_TURNSTILE, fcntl.LOCK_EX), _flock(_LOCK, fcntl.LOCK_EX):
        yield
