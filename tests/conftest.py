"""Test-wide settings: hypothesis profiles (`ci` by default, `long` on demand); the Redis
server; a migrated SQLite database to copy."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import sqlite3
import tempfile
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, settings

from onduty import task_dump
from onduty.storage.database import resolve
from onduty.storage.migrate import newest_revision, upgrade_sync
from tests.redis_server import REDIS_URL, redis_problem, require
from tests.serve_process import on_a_thread

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


def pytest_configure(config: pytest.Config) -> None:
    """`kill -USR1 <pid>` on a test process that hangs writes its threads' stacks and the
    asyncio tasks of the loop running in it to <tmp>/onduty-tasks-<pid>.txt (task_dump.py)."""
    signal.signal(signal.SIGUSR1, _dump_tasks)


def _dump_tasks(signum: int, frame: FrameType | None) -> None:
    path = Path(tempfile.gettempdir()) / f"onduty-tasks-{os.getpid()}.txt"
    with path.open("a") as out:
        faulthandler.dump_traceback(out, all_threads=True)
        loop = asyncio._get_running_loop()  # the main thread's, interrupted by the signal
        for task in sorted(asyncio.all_tasks(loop) if loop is not None else (), key=lambda t: t.get_name()):
            out.write(f"\ntask {task.get_name()}\n")
            out.writelines(f"  {line}\n" for line in task_dump.describe(task))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keeps `xdist_group` working under `--dist loadgroup`: xdist sends a group to one worker
    by the "@group" it appends to each test's id, written to an attribute (`_nodeid`) that
    pytest 9.2 no longer reads it from, so the fault tests would run beside one another. The
    id xdist meant is set where pytest reads it; nothing to do where xdist's own write took."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        meant = getattr(item, "_nodeid", None)
        structured = getattr(item, "_id", None)
        if isinstance(meant, str) and meant != item.nodeid and structured is not None:
            item._id = type(structured).parse(meant)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (tests/redis_server.py): skips without it, fails under CI=true."""
    require(redis_problem())
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest revision, migrated once per test process: a copy is a
    clean database on which nothing (a test, `onduty serve`) has a migration to run."""
    path = tmp_path_factory.mktemp("template") / "onduty.db"
    on_a_thread(upgrade_sync, resolve(f"sqlite:///{path}"))
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(newest_revision(),)]
    # Closed, the WAL is folded into the file: a copy of the file alone is the whole database.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path
