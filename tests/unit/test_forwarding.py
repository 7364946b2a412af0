"""A follower's forwarder (service/forwarding.py) when the workspace changes hands under it."""

from __future__ import annotations

import asyncio
import time

import pytest

from onduty.domain import commands as c
from onduty.service.forwarding import Forwarder, OwnerHere


async def test_a_forwarder_stops_waiting_for_an_owner_once_its_own_instance_owns_the_workspace() -> None:
    """While no instance owns the workspace the forwarder retries; when its own instance takes
    the workspace over, it must not go on waiting (until its 15 s run out, then a 503) for an
    owner that is itself: it hands the command back (OwnerHere) for this instance to apply."""
    owned = False

    async def no_other_owner(refresh: bool) -> str | None:
        return None  # nobody, then this instance: never another one to send to

    forwarder = Forwarder(no_other_owner, "secret", wait=15.0, owns=lambda: owned)

    async def take_over() -> None:
        nonlocal owned
        await asyncio.sleep(0.3)
        owned = True

    started = time.monotonic()
    taking = asyncio.create_task(take_over())
    try:
        with pytest.raises(OwnerHere):
            await forwarder.command(c.Login(1), "key-1")
    finally:
        await taking
        await forwarder.close()
    assert time.monotonic() - started < 1.0
