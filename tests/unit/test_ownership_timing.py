"""The lease's timing rules and refusals that need no database (constructing a handle
connects to nothing)."""

from __future__ import annotations

import pytest

from onduty.service.ownership import LEASE_SECONDS, RENEW_EVERY, Ownership, check_timing, worst_case_takeover
from onduty.storage.database import resolve
from onduty.storage.lease import Fence, Lease, Leases, LeaseUnsupported, Superseded, fence_statement

POSTGRES = resolve("postgresql://nobody@127.0.0.1:1/never_connected")


def test_the_defaults_replace_a_dead_owner_within_five_seconds() -> None:
    check_timing(LEASE_SECONDS, RENEW_EVERY, RENEW_EVERY)
    assert worst_case_takeover(LEASE_SECONDS, RENEW_EVERY) <= 5.0
    # Two renewals in a row may fail or come late without losing the lease.
    assert LEASE_SECONDS / RENEW_EVERY >= 3


@pytest.mark.parametrize(
    ("lease", "renew", "retry", "named"),
    [
        (3.0, 2.0, 1.0, "at most half"),  # one late renewal would lose it
        (3.0, 0.0, 1.0, "positive"),
        (0.0, 1.0, 1.0, "positive"),
        (3.0, 1.0, -1.0, "positive"),
    ],
)
def test_timings_that_would_lose_the_lease_are_refused(lease: float, renew: float, retry: float, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        check_timing(lease, renew, retry)
    with pytest.raises(ValueError, match=named):
        Ownership(Leases(POSTGRES), "a", lease_seconds=lease, renew_every=renew, retry_every=retry)


def test_a_new_ownership_holds_nothing_until_it_acquires() -> None:
    ownership = Ownership(Leases(POSTGRES), "a")
    assert ownership.lease is None and ownership.lost.is_set() and not ownership.gained.is_set()
    # A superseded commit while holding nothing changes nothing.
    ownership.superseded(Superseded("default", 1))
    assert ownership.lost.is_set()


def test_leases_are_refused_on_sqlite_by_name() -> None:
    with pytest.raises(LeaseUnsupported, match="SQLite, which serves one instance"):
        Leases(resolve("sqlite:///onduty.db"))


async def test_a_lease_of_no_length_or_an_instance_id_out_of_bounds_is_refused_before_any_statement() -> None:
    with pytest.raises(ValueError, match="lease_seconds must be positive"):
        await Leases(POSTGRES).acquire("a", 0)
    for instance_id in ("", "x" * 81):
        with pytest.raises(ValueError, match="instance id is 1 to 80 characters"):
            await Leases(POSTGRES).acquire(instance_id, 3.0)


def test_a_lease_fences_its_own_epoch() -> None:
    lease = Lease("default", "a", 7, 3.0, 100.0, 50.0)
    assert (lease.fence.workspace, lease.fence.epoch) == ("default", 7)
    error = Superseded("default", 7)
    assert "epoch 7 was superseded" in str(error) and "nothing was written" in str(error)


@pytest.mark.parametrize("name", ["", "x" * 41, "a'b", "a b", "ws;DROP", "é"])
def test_a_workspace_name_that_could_not_be_written_into_the_fence_is_refused(name: str) -> None:
    """The fence goes out with BEGIN as one simple query, its values written out: a name
    outside the allowed characters never reaches it."""
    with pytest.raises(ValueError, match="workspace name"):
        Fence(name, 1)
    with pytest.raises(ValueError, match="workspace name"):
        Leases(POSTGRES, name)


def test_the_fence_names_its_workspace_and_epoch() -> None:
    with pytest.raises(ValueError, match="an epoch is an integer"):
        Fence("default", True)
    assert fence_statement(Fence("floor-2.eu:1", 42)).endswith("WHERE workspace = 'floor-2.eu:1' AND epoch = 42")
