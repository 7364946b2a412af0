"""Schema migrations (Alembic), run in-process: every command upgrades first."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from onduty.storage.database import Database, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.async_url.replace("%", "%%"))
    return config


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


async def current_revision(db: Database) -> str | None:
    engine = create_engine(db)
    try:
        async with engine.connect() as conn:

            def read(sync_conn: Connection) -> str | None:
                return MigrationContext.configure(sync_conn).get_current_revision()

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def upgrade_sync(db: Database) -> None:
    if db.is_sqlite:
        Path(db.async_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(db), "head")


async def upgrade(db: Database) -> None:
    """Bring the database to the current schema (creates it when empty)."""
    await asyncio.to_thread(upgrade_sync, db)
