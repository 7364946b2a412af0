"""Redis for the tests: the machine's server, and private ones a test may stop and start.

The machine's Redis (127.0.0.1:6379, ONDUTY_TEST_REDIS to point elsewhere) is
shared with whoever else runs tests: each test keeps to channels named with
a random id of its own, and nothing here flushes or restarts it. A test that
restarts Redis gets a server of its own (`PrivateRedis`, a `redis-server`
process on a free loopback port, keeping nothing on disk).

Without a reachable Redis these tests skip with the reason; under CI=true
they fail instead, as the PostgreSQL ones do (tests/integration/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis

REDIS_URL = os.environ.get("ONDUTY_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def redis_problem(url: str = REDIS_URL) -> str | None:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except (redis.RedisError, OSError) as error:
        return f"Redis is not reachable at {url}: {type(error).__name__}: {error}"
    return None


def require(problem: str | None) -> None:
    """Skips the test with the reason, or fails it under CI=true."""
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: the Redis tests must run)")
        pytest.skip(problem)


def unique_prefix() -> str:
    """A channel prefix no other test run shares."""
    return f"onduty-test:{uuid.uuid4().hex}:"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of this test's own, on 127.0.0.1: stopped and started at will."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require(None if binary else "redis-server is not installed: no private Redis to restart")
        assert binary is not None
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while redis_problem(self.url) is not None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()  # as a crash would: no goodbye to the clients
            process.wait(10)

    def client_names(self) -> list[str]:
        """The names of the clients connected now (CLIENT LIST)."""
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            return [str(c.get("name", "")) for c in client.client_list()]

    def shutdown(self) -> None:
        """SHUTDOWN NOSAVE, as an operator restarting Redis does (`redis-cli shutdown nosave`):
        the clients' connections closed, nothing kept."""
        process, self._process = self._process, None
        if process is None:
            return
        with redis.Redis.from_url(self.url, socket_timeout=5) as client, contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)  # the server closes the connection as it goes
        process.wait(10)
