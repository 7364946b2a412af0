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
from sqlalchemy.exc import DBAPIError

from onduty.storage.database import Database, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaTooNew(Exception):
    """The database was migrated by a newer onduty than this one."""


class MigrationRefused(Exception):
    """A migration found data it cannot carry over without a person's decision; it changed
    nothing, and its one-line message names the rows and what to do."""


def known_revisions() -> set[str]:
    """Every migration's revision, from its file's name: migrations are
    `versions/NNNN_what_it_does.py` with revision "NNNN", each revising the one before
    (tests/integration/test_migrations.py holds Alembic to the same answer)."""
    return {path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")}


def newest_revision() -> str:
    return max(known_revisions())


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.async_url.replace("%", "%%"))
    return config


def head_revision(db: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


async def stored_revisions(db: Database) -> list[str] | None:
    """The revisions the database says it is at (one, normally); None when it has no
    version table (new, or not onduty's yet). Failing to connect is an error of its own."""
    if db.is_sqlite and not db.sqlite_path.is_file():
        return None
    engine = create_engine(db)
    try:
        async with engine.connect() as conn:
            try:
                result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:
                return None
            return list(result.scalars())
    finally:
        await engine.dispose()


def is_current(revisions: list[str] | None) -> bool:
    return revisions == [newest_revision()]


def upgrade_sync(db: Database) -> None:
    from alembic import command

    if db.is_sqlite:
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(db), "head")


async def upgrade(db: Database) -> None:
    """Bring the database to the current schema (creates it when empty). Raises
    SchemaTooNew for a database a newer onduty migrated: this one would misread it."""
    revisions = await stored_revisions(db)
    if is_current(revisions):
        return
    unknown = sorted(set(revisions or ()) - known_revisions())
    if unknown:
        raise SchemaTooNew(
            f"its schema is at revision {unknown[-1]}, newer than this onduty knows (up to {newest_revision()}): "
            "run the onduty that migrated it, or a newer one"
        )
    await asyncio.to_thread(upgrade_sync, db)
