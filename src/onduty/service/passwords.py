"""Passwords: argon2 hashes, made and checked in a small pool of threads, never on the event loop.

One argon2 hash costs a hundred milliseconds or so of CPU and 64 MiB of memory (argon2-cffi's
defaults, the second recommendation of RFC 9106). On the event loop it would stop every other
request for that long, so that anyone can stall the service by signing in with wrong passwords.
argon2-cffi releases the GIL while it hashes, so in a thread the loop keeps serving.

The pool is small (`POOL_THREADS`): a hash already spreads over several cores (its lanes), so
more threads would add memory, not speed, and would leave the loop no core. Its threads run at
a lower scheduling priority where the system allows it, so that under a flood of sign-ins the
loop still gets the CPU first. Work beyond the pool waits in its queue, costing the loop nothing;
the sign-in limits (sign_in_limits.py) bound how much of it guessing can bring.

A refusal costs the same whether the username exists or not: a name without a usable hash
(unknown, deactivated, or given no password) is checked against a stand-in hash made once with
the same parameters, so that the time of the answer does not say which usernames exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")

POOL_THREADS = min(4, max(2, (os.cpu_count() or 2) // 2))
# Added to the hashing threads' niceness (Linux applies it per thread, and to the threads
# argon2 starts for its lanes): the loop's short requests go first.
HASHING_NICENESS = 10

_hasher = PasswordHasher()


def _lower_priority() -> None:
    if hasattr(os, "setpriority"):  # POSIX; elsewhere the threads keep the process's priority
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


@functools.cache
def _stand_in_hash() -> str:
    """Made on first need, once per process (two threads racing here both make a valid one).
    Its password is random and thrown away: nothing can match it."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _check(password_hash: str | None, password: str) -> bool:
    # The stand-in is made before either branch, so that even the first check of a process
    # costs the same for a known and an unknown username.
    stand_in = _stand_in_hash()
    try:
        if password_hash is None:
            _hasher.verify(stand_in, password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Passwords:
    """The pool, for one app. `checked` and `checked_stand_in` count the checks made against a
    user's hash and against the stand-in; they are not exported as metrics, which anyone may
    read: the split would tell which usernames exist."""

    def __init__(self, threads: int = POOL_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="onduty-passwords", initializer=_lower_priority)
        self.checked = 0
        self.checked_stand_in = 0

    async def hash(self, password: str) -> str:
        return await self._run(lambda: _hasher.hash(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches `password_hash`. None (no user, or no usable hash) is
        checked against the stand-in, taking the same time, and answers False."""
        password_hash = password_hash or None  # an empty column is no hash either
        if password_hash is None:
            self.checked_stand_in += 1
        else:
            self.checked += 1
        return await self._run(lambda: _check(password_hash, password))

    def close(self) -> None:
        """Checks not started are dropped (their callers are going away with the app)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)
