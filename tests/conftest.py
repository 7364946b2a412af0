"""Test-wide settings: hypothesis profiles (`ci` by default, `long` on demand); the Redis server."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.redis_server import REDIS_URL, redis_problem, require

settings.register_profile(
    "ci",
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=5000,
    stateful_step_count=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("quick", max_examples=30, stateful_step_count=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (tests/redis_server.py): skips without it, fails under CI=true."""
    require(redis_problem())
    return REDIS_URL
