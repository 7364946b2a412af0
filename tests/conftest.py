"""Test-wide settings: hypothesis profiles (`ci` by default, `long` on demand); the Redis
server; a migrated SQLite database to copy."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from onduty.storage.database import resolve
from onduty.storage.migrate import newest_revision, upgrade_sync
from tests.redis_server import REDIS_URL, redis_problem, require
from tests.serve_process import on_a_thread
from tests.task_report import tasks_text

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
    """`kill -USR1 <pid>` on a test process writes its threads' stacks and the asyncio tasks
    of the loop running in it to stderr (the test's report) and <tmp>/onduty-tasks-<pid>.txt
    (tests/task_report.py). A test about to reach its time limit does so by itself."""
    signal.signal(signal.SIGUSR1, _dump_tasks)


def _dump_tasks(signum: int, frame: FrameType | None) -> None:
    try:  # whatever goes wrong here must not be raised into the code the signal interrupted
        text = tasks_text()
        with (Path(tempfile.gettempdir()) / f"onduty-tasks-{os.getpid()}.txt").open("a") as out:
            faulthandler.dump_traceback(out, all_threads=True)
            out.write(text)
        sys.stderr.write(text)
    except Exception as error:
        with contextlib.suppress(Exception):
            sys.stderr.write(f"asyncio tasks not dumped: {error!r}\n")


_DUMP_TIMER = pytest.StashKey[threading.Timer]()


@pytest.hookimpl(wrapper=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> Generator[None, object, object]:
    """pytest-timeout shows the threads' stacks; what an asyncio test waits on is in its
    tasks, so they are dumped a few seconds before the limit it sets (its own settings)."""
    if settings.timeout > 10:
        timer = threading.Timer(settings.timeout - 5, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.daemon = True
        timer.start()
        item.stash[_DUMP_TIMER] = timer
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> Generator[None, object, object]:
    timer = item.stash.get(_DUMP_TIMER, None)
    if timer is not None:
        timer.cancel()
    return (yield)


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
