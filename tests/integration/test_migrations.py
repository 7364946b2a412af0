"""Migrations, on SQLite and PostgreSQL: they build exactly the schema the code declares."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from onduty.storage.database import Database, DatabaseUrlError, create_engine, resolve
from onduty.storage.migrate import current_revision, head_revision, upgrade
from onduty.storage.schema import metadata


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
    assert asyncio.run(current_revision(database)) == head_revision(database)
    assert _diff(database) == []


def test_migrating_twice_changes_nothing(database: Database) -> None:
    asyncio.run(upgrade(database))
    assert asyncio.run(current_revision(database)) == head_revision(database)
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
