"""Commands that open a database: a database they cannot use is a one-line error naming
it, and one already at the current schema is recognised without loading Alembic."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from onduty.cli import serve as serve_command
from onduty.cli._db import run_on
from onduty.cli.main import main
from onduty.storage.database import Database, resolve
from onduty.storage.migrate import SchemaTooNew, is_current, newest_revision, stored_revisions, upgrade
from tests.serve_process import free_port


def refused(args: list[str], url: str, *, logged: bool = False) -> str:
    """Run a command on `url`; it must fail with the one-line error. Returns that line.
    `logged`: the service logs the failure too (its own log, with the stack)."""
    result = CliRunner().invoke(main, [*args, "--database", url])
    assert result.exit_code == 1, result.output
    assert logged or "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert line.startswith(f"Error: cannot use the database {url}: "), line
    return line


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["users", "add", "bob", "--role", "agent"], ["serve", "--port", "1"]],
    ids=["migrate", "users-add", "serve"],
)
def test_a_database_nobody_answers_for_is_a_clear_error(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_command, "configure_logging", lambda json: None)  # leave the test's logging be
    line = refused(args, f"postgresql://postgres@127.0.0.1:{free_port()}/onduty")  # a port nobody listens on
    assert "Connect call failed" in line


def test_a_database_the_server_does_not_have_is_a_clear_error(postgres_database: Database) -> None:
    url = postgres_database.url.rpartition("/")[0] + "/onduty_no_such_database"
    assert 'database "onduty_no_such_database" does not exist' in refused(["migrate"], url)


def test_a_sqlite_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    refused(["migrate"], f"sqlite:///{blocked / 'onduty.db'}")


def test_a_database_that_refuses_the_services_writes_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'onduty.db'}"
    assert CliRunner().invoke(main, ["migrate", "--database", url]).exit_code == 0
    with sqlite3.connect(tmp_path / "onduty.db") as conn:
        conn.execute("CREATE TRIGGER no_agents BEFORE INSERT ON agents BEGIN SELECT RAISE(ABORT, 'read-only'); END")
    assert "could not be saved" in refused(["users", "add", "bob", "--role", "agent"], url, logged=True)


def test_an_error_without_a_message_is_named_by_its_kind() -> None:
    """A connection that times out raises a bare TimeoutError (asyncpg)."""

    async def silent() -> None:
        raise TimeoutError

    db = resolve("postgresql://postgres@192.0.2.1:5432/onduty")
    with pytest.raises(click.ClickException, match=r"cannot use the database .*: TimeoutError$"):
        run_on(db, silent())


def test_a_database_migrated_by_a_newer_onduty_is_refused_untouched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'onduty.db'}"
    assert CliRunner().invoke(main, ["migrate", "--database", url]).exit_code == 0
    with sqlite3.connect(tmp_path / "onduty.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    line = refused(["migrate"], url)
    assert "revision 9999, newer than this onduty knows" in line
    with pytest.raises(SchemaTooNew):
        asyncio.run(upgrade(resolve(url)))
    assert asyncio.run(stored_revisions(resolve(url))) == ["9999"]


def test_only_exactly_the_newest_revision_is_current(tmp_path: Path) -> None:
    """The quick check sends anything but one row at the newest revision to Alembic."""
    newest = newest_revision()
    assert is_current([newest])
    for revisions in (None, [], ["0001"], [newest, "0001"]):
        assert not is_current(revisions), revisions
    db = resolve(f"sqlite:///{tmp_path / 'onduty.db'}")
    assert asyncio.run(stored_revisions(db)) is None  # no file yet
    asyncio.run(upgrade(db))
    assert asyncio.run(stored_revisions(db)) == [newest]


def test_a_current_database_is_recognised_without_alembic(tmp_path: Path) -> None:
    """Every command upgrades first; at the current schema that takes one query, and the
    start of `onduty serve` does not pay for importing Alembic."""
    url = f"sqlite:///{tmp_path / 'onduty.db'}"
    assert CliRunner().invoke(main, ["migrate", "--database", url]).exit_code == 0
    probe = (
        "import asyncio, sys\n"
        "import onduty.cli.main\n"
        "from onduty.storage.database import resolve\n"
        "from onduty.storage.migrate import upgrade\n"
        f"asyncio.run(upgrade(resolve({url!r})))\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('alembic', 'mako')))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
