"""How many failed sign-ins a username, and a client address, may have in a window of time.

Beyond the limit a sign-in is refused before its password is checked, so the limit caps the
guesses and the hashing work together. By default 5 failures per username and 20 per address
in any 15 minutes: a person mistyping is far below it, a guesser gets 480 tries a day per
username instead of thousands an hour.

The window slides: a key keeps the times of its last `limit` failures and is refused until the
oldest of them is a window old (that wait is the answer's Retry-After), so there is no moment
when a fresh window lets a burst through.

An attempt counts as a failure from the moment it is let through: attempts sent all at once,
before any of them has been checked, still get only `limit` through. A success takes its own
attempt back from the address and clears the username's failures; the address's other
failures stay, so that a guesser holding one good account cannot wipe their address's count.

Per-username limits let anyone who knows a username keep its owner from signing in, a window
at a time; tokens already issued keep working meanwhile, and that trade is the usual one (a
guesser spread over many addresses would otherwise meet no limit at all).

Memory is bounded: at most `max_keys` usernames and as many addresses are tracked; beyond, the
one whose last failure is the oldest is forgotten. Counts live in this process; with several
instances, each counts the sign-ins it receives. Time is the service's clock, so that tests can
move it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 20_000


@dataclass(frozen=True, slots=True)
class SignInLimits:
    failures_per_username: int = 5
    failures_per_address: int = 20
    window_seconds: float = 900.0

    def __post_init__(self) -> None:
        if self.failures_per_username < 1 or self.failures_per_address < 1 or self.window_seconds <= 0:
            raise ValueError(f"sign-in limits must be positive: {self}")


class TooManyFailures(Exception):
    """Refused without checking the password; `retry_after` whole seconds from now it is let
    through again. `by` names the limit reached: "username" or "address"."""

    def __init__(self, by: str, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins {'for this username' if by == 'username' else 'from this address'}")
        self.by, self.retry_after = by, retry_after


@dataclass(frozen=True, slots=True)
class Attempt:
    username: str
    address: str
    at: float


class _Failures:
    """The last `limit` failure times of each key, keys least recently failed first."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self._limit, self._window, self._max_keys = limit, window, max_keys
        self._times: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return len(self._times)

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        times = self._times.get(key)
        if times is None:
            return 0.0
        times[:] = [t for t in times if t > now - self._window]
        if not times:
            del self._times[key]
            return 0.0
        return times[0] + self._window - now if len(times) >= self._limit else 0.0

    def add(self, key: str, at: float) -> None:
        times = self._times.pop(key, [])
        times.append(at)
        self._times[key] = times[-self._limit :]  # re-inserted: now the most recently failed
        if len(self._times) > self._max_keys:
            del self._times[next(iter(self._times))]

    def take_back(self, key: str, at: float) -> None:
        times = self._times.get(key)
        if times is not None and at in times:
            times.remove(at)
            if not times:
                del self._times[key]

    def clear(self, key: str) -> None:
        self._times.pop(key, None)


class FailedSignIns:
    def __init__(self, limits: SignInLimits, now: Callable[[], float], *, max_keys: int = MAX_KEYS) -> None:
        self._now = now
        window = limits.window_seconds
        self._usernames = _Failures(limits.failures_per_username, window, max_keys)
        self._addresses = _Failures(limits.failures_per_address, window, max_keys)

    def tracked(self) -> tuple[int, int]:
        """How many usernames and addresses are remembered."""
        return len(self._usernames), len(self._addresses)

    def start(self, username: str, address: str) -> Attempt:
        """Let a sign-in through, counted as a failure until `succeeded`; raises
        TooManyFailures when the username or the address is over its limit."""
        now = self._now()
        for by, failures, key in (("username", self._usernames, username), ("address", self._addresses, address)):
            wait = failures.wait(key, now)
            if wait > 0:
                raise TooManyFailures(by, max(1, math.ceil(wait)))
        self._usernames.add(username, now)
        self._addresses.add(address, now)
        return Attempt(username, address, now)

    def succeeded(self, attempt: Attempt) -> None:
        self._usernames.clear(attempt.username)
        self._addresses.take_back(attempt.address, attempt.at)
