"""Schema migrations (Alembic), run in-process: every command upgrades first.

A database already at the newest revision is the common case (every start of
every command), and telling it needs one query: the newest revision is known
from the migration files' names, so Alembic (a fifth of a second to import,
with Mako) is loaded only when there is something to migrate.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from onduty.storage.database import Database, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def newest_revision() -> str:
    """The newest migration's revision, from its file's name: migrations are
    `versions/NNNN_what_it_does.py` with revision "NNNN", each revising the one before
    (tests/integration/test_migrations.py holds Alembic to the same answer)."""
    return max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.async_url.replace("%", "%%"))
    return config


def head_revision(db: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


async def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(db)
    try:
        async with engine.connect() as conn:

            def read(sync_conn: Connection) -> str | None:
                return MigrationContext.configure(sync_conn).get_current_revision()

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def _is_current(db: Database) -> bool:
    """Is the database at the newest revision? One query, no Alembic; False whenever in
    doubt (no file yet, no version table), and Alembic decides."""
    if db.is_sqlite and not Path(db.async_url.split("///", 1)[1]).is_file():
        return False
    engine = create_engine(db)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:
        return False
    finally:
        await engine.dispose()
    return versions == [newest_revision()]


def upgrade_sync(db: Database) -> None:
    from alembic import command

    if db.is_sqlite:
        Path(db.async_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(db), "head")


async def upgrade(db: Database) -> None:
    """Bring the database to the current schema (creates it when empty)."""
    if not await _is_current(db):
        await asyncio.to_thread(upgrade_sync, db)
