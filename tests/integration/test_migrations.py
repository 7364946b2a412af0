"""Migrations, on SQLite and PostgreSQL: they build exactly the schema the code declares."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from onduty.cli.main import main
from onduty.storage._write_plan import DAY_COLUMNS
from onduty.storage.activity import day_sums
from onduty.storage.database import Database, DatabaseUrlError, create_engine, resolve
from onduty.storage.migrate import (
    MigrationRefused,
    alembic_config,
    head_revision,
    newest_revision,
    stored_revisions,
    upgrade,
)
from onduty.storage.schema import metadata


def _select(db: Database, sql: str) -> list[tuple[Any, ...]]:
    """The rows of one query, on a connection of its own (between Alembic's commands)."""

    async def run() -> list[tuple[Any, ...]]:
        engine = create_engine(db)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in (await conn.execute(text(sql))).all()]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _diff(db: Database) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(db)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Connection) -> list[Any]:
                    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                    return list(compare_metadata(context, metadata))

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_build_the_declared_schema(database: Database) -> None:
    assert asyncio.run(stored_revisions(database)) == [head_revision(database)]
    assert _diff(database) == []


def test_the_newest_revision_is_known_from_the_file_names_as_alembic_knows_it(database: Database) -> None:
    """`upgrade` skips Alembic when the database is at `newest_revision()`; that must be
    Alembic's own head, and every migration file must be named for its revision."""
    assert newest_revision() == head_revision(database)
    script = ScriptDirectory.from_config(alembic_config(database))
    for revision in script.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_")


def test_a_database_behind_the_newest_revision_is_migrated(database: Database) -> None:
    """The quick check (one query) sends a database that is behind to Alembic."""
    command.downgrade(alembic_config(database), "0003")
    try:
        assert asyncio.run(stored_revisions(database)) == ["0003"]
        asyncio.run(upgrade(database))
        assert asyncio.run(stored_revisions(database)) == [head_revision(database)]
        assert _diff(database) == []
    finally:
        command.upgrade(alembic_config(database), "head")  # the PostgreSQL database is shared


def test_migrating_twice_changes_nothing(database: Database) -> None:
    asyncio.run(upgrade(database))
    assert asyncio.run(stored_revisions(database)) == [head_revision(database)]
    assert _diff(database) == []


def test_an_empty_sqlite_file_is_created_and_migrated(tmp_path: Path) -> None:
    db = resolve(f"sqlite:///{tmp_path / 'new' / 'onduty.db'}")
    asyncio.run(upgrade(db))

    async def tables() -> set[str]:
        engine = create_engine(db)
        async with engine.connect() as conn:
            names: set[str] = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        await engine.dispose()
        return names

    assert set(metadata.tables) <= asyncio.run(tables())


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/x", "sqlite://", "not a url at all", "sqlite:///:memory:"],
)
def test_unsupported_database_urls_get_a_clear_error(url: str) -> None:
    with pytest.raises(DatabaseUrlError, match=r"sqlite:///|postgresql://|SQLite URL"):
        resolve(url)


def test_thread_rows_lists_through_0004_and_0005_and_back(database: Database) -> None:
    """Migration 0004 fills each open thread row's message ids and pins from the messages
    table, in id order; closed threads keep none. 0005 drops the message ids (the engine no
    longer holds them, R8 in docs/rules.md) and keeps the pins; its downgrade fills the
    message ids again. On a database with data, back up to the head at the end."""
    cfg = alembic_config(database)
    threads = [(1, "in_progress"), (2, "closed"), (3, "queued"), (4, "assigned")]
    # (id, thread, pinned), not in id order within a thread
    messages = [(12, 1, True), (10, 1, False), (11, 2, True), (13, 1, True), (14, 3, False)]
    lists = {1: ("10,12,13", "12,13"), 2: ("", ""), 3: ("14", ""), 4: ("", "")}

    async def fill() -> None:
        engine = create_engine(database)
        try:
            async with engine.begin() as conn:
                for thread_id, state in threads:
                    await conn.execute(
                        text(
                            "INSERT INTO threads (id, client_id, created_at, priority, state, reclaim_pending,"
                            " answered_once) VALUES (:id, :client, 0, 0, :state, false, false)"
                        ),
                        {"id": thread_id, "client": f"c{thread_id}", "state": state},
                    )
                for message_id, thread_id, pinned in messages:
                    await conn.execute(
                        text(
                            "INSERT INTO messages (id, thread_id, author, text, at, pinned)"
                            " VALUES (:id, :thread, 'client', 'hi', 0, :pinned)"
                        ),
                        {"id": message_id, "thread": thread_id, "pinned": pinned},
                    )
        finally:
            await engine.dispose()

    def read(columns: str) -> dict[int, tuple[str, ...]]:
        return {row[0]: tuple(row[1:]) for row in _select(database, f"SELECT id, {columns} FROM threads ORDER BY id")}

    command.downgrade(cfg, "0003")
    try:
        asyncio.run(fill())
        command.upgrade(cfg, "0004")
        assert read("message_ids, pinned_ids") == lists
        command.upgrade(cfg, "head")
        assert read("pinned_ids") == {k: (pins,) for k, (_, pins) in lists.items()}
        with pytest.raises(DBAPIError, match="message_ids"):
            read("message_ids")
        command.downgrade(cfg, "0004")
        assert read("message_ids, pinned_ids") == lists
    finally:
        command.upgrade(cfg, "head")  # the PostgreSQL database is shared
    assert _diff(database) == []


def test_0006_sums_the_activity_rows_written_before_it_per_day(database: Database) -> None:
    """Migration 0006 sums the activity rows already written into agent_activity_days as
    the writer sums new ones (`day_sums`): per UTC day of the row's time, compared exactly
    (a row a hair before midnight stays in its day), spans whole; its downgrade drops the
    sums. On a database with data, back up to the head at the end."""
    cfg = alembic_config(database)
    midnight = 20_834 * 86_400.0
    columns = ("agent_id", "at", "kind", "seconds", "prev_at", "prev_state", "prev_reason", "prev_held")
    rows = [
        (1, midnight - 7_200.0, "registered", None, None, None, None, None),
        (1, math.nextafter(midnight, 0.0), "status", None, midnight - 7_200.0, "offline", None, 0),
        (1, midnight, "status", None, math.nextafter(midnight, 0.0), "active", None, 0),
        (1, midnight + 60.0, "received", None, midnight, "inactive", "lunch", 0),
        (1, midnight + 90.0, "answered", 30.0, midnight + 60.0, "active", None, 1),
        (1, midnight + 95.0, "answered", 5.0, midnight + 90.0, "active", None, 1),
        (2, midnight + 86_400.0 * 2 + 1.5, "status", None, midnight - 3_600.0, "not_ready", None, 0),
    ]
    written = [dict(zip(columns, row, strict=True)) for row in rows]

    async def fill() -> None:
        engine = create_engine(database)
        try:
            async with engine.begin() as conn:
                for row in written:
                    await conn.execute(
                        text(
                            "INSERT INTO agent_activity (agent_id, team, at, kind, state, held, seconds, prev_at,"
                            " prev_state, prev_reason, prev_held) VALUES (:agent_id, 't', :at, :kind, 'active', 0,"
                            " :seconds, :prev_at, :prev_state, :prev_reason, :prev_held)"
                        ),
                        row,
                    )
        finally:
            await engine.dispose()

    def sums() -> list[tuple[Any, ...]]:
        return sorted(_select(database, f"SELECT {', '.join(DAY_COLUMNS)} FROM agent_activity_days"))

    command.downgrade(cfg, "0005")
    try:
        asyncio.run(fill())
        command.upgrade(cfg, "head")
        expected = sorted(day_sums(written))
        assert [row[:5] for row in expected] == [
            (20_833, 1, "", "", "registered"),
            (20_833, 1, "offline", "", "status"),
            (20_834, 1, "active", "", "answered"),
            (20_834, 1, "active", "", "status"),
            (20_834, 1, "inactive", "lunch", "received"),
            (20_836, 2, "not_ready", "", "status"),
        ]
        got = sums()
        assert [row[:6] for row in got] == [row[:6] for row in expected]  # the keys, and the rows counted
        for row, want in zip(got, expected, strict=True):
            assert row[6:] == pytest.approx(want[6:])
        command.downgrade(cfg, "0005")
        with pytest.raises(DBAPIError, match="agent_activity_days"):
            sums()
    finally:
        command.upgrade(cfg, "head")  # the PostgreSQL database is shared
    assert _diff(database) == []


def _add_users(database: Database, users: list[tuple[int, str]]) -> None:
    """Users as an older onduty stored them: the username exactly as it was given."""

    async def run() -> None:
        engine = create_engine(database)
        try:
            async with engine.begin() as conn:
                for user_id, username in users:
                    await conn.execute(
                        text(
                            "INSERT INTO users (id, username, name, role, active, created_at)"
                            " VALUES (:id, :username, 'n', 'agent', true, 0)"
                        ),
                        {"id": user_id, "username": username},
                    )
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_0008_stores_usernames_normalised_with_their_skeletons(database: Database) -> None:
    """Usernames an older onduty took as given are stored in their one form (NFKC, case-folded,
    trimmed), each with its UTS #39 skeleton; the downgrade keeps them normalised."""
    cfg = alembic_config(database)
    command.downgrade(cfg, "0007")
    try:
        _add_users(database, [(1, " A1 "), (2, "Bob"), (3, "\uff43ai"), (4, "dee")])
        command.upgrade(cfg, "head")
        assert _select(database, "SELECT id, username, username_skeleton FROM users ORDER BY id") == [
            (1, "a1", "al"),
            (2, "bob", "bob"),
            (3, "cai", "cai"),
            (4, "dee", "dee"),
        ]
        command.downgrade(cfg, "0007")
        assert _select(database, "SELECT username FROM users ORDER BY id") == [("a1",), ("bob",), ("cai",), ("dee",)]
    finally:
        command.upgrade(cfg, "head")  # the PostgreSQL database is shared
    assert _diff(database) == []


def test_0008_refuses_users_that_would_collide_naming_them_and_changes_nothing(database: Database) -> None:
    """Two users that become one username, or look alike, or a username that is no username:
    the migration cannot choose who loses their name, so it stops before changing anything and
    says who (the operator renames one and migrates again)."""
    cfg = alembic_config(database)
    command.downgrade(cfg, "0007")
    users = [(1, "admin"), (2, "A1"), (3, "a1 "), (4, "\u0430dmin"), (5, "  "), (6, "ok")]
    try:
        _add_users(database, users)
        with pytest.raises(MigrationRefused) as refused:
            command.upgrade(cfg, "head")
        message = str(refused.value)
        assert "\n" not in message
        assert "user 3 'a1 ' and user 2 'A1' are both 'a1'" in message
        assert "user 4 '\\u0430dmin' looks like user 1 'admin'" in message
        assert "user 5 '  ': username must not be empty" in message
        assert "user 6" not in message
        assert asyncio.run(stored_revisions(database)) == ["0007"]
        assert _select(database, "SELECT id, username FROM users ORDER BY id") == users
        # Once the operator renames them, it goes through.
        for user_id, name in ((3, "a1-again"), (4, "cyrillic-admin"), (5, "blank")):
            _select_write(database, f"UPDATE users SET username = '{name}' WHERE id = {user_id}")
        asyncio.run(upgrade(database))
        assert [row[0] for row in _select(database, "SELECT username FROM users ORDER BY id")] == [
            "admin",
            "a1",
            "a1-again",
            "cyrillic-admin",
            "blank",
            "ok",
        ]
    finally:
        _select_write(database, "DELETE FROM users")
        command.upgrade(cfg, "head")  # the PostgreSQL database is shared
    assert _diff(database) == []


def test_0008_refusal_is_one_line_from_the_cli(tmp_path: Path) -> None:
    """`onduty migrate` (and `serve`, which migrates first) says who collides, in one line."""
    db = resolve(f"sqlite:///{tmp_path / 'onduty.db'}")
    asyncio.run(upgrade(db))
    command.downgrade(alembic_config(db), "0007")
    _add_users(db, [(1, "admin"), (2, "\u0430dmin")])
    result = CliRunner().invoke(main, ["migrate", "--database", db.url])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"Error: cannot use the database {db.url}: usernames must be unique" in result.output
    assert "user 2 '\\u0430dmin' looks like user 1 'admin'" in result.output
    assert asyncio.run(stored_revisions(db)) == ["0007"]


def _select_write(db: Database, sql: str) -> None:
    async def run() -> None:
        engine = create_engine(db)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())
