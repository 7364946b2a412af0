"""Commands that open a database: a database they cannot open is a clear error, and one
already at the current schema is recognised without loading Alembic."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from onduty.cli.main import main


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # closed again: nobody answers there


@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["users", "add", "bob", "--role", "agent"],
        ["serve", "--port", "1"],
    ],
    ids=["migrate", "users-add", "serve"],
)
def test_a_database_nobody_answers_for_is_a_clear_error(args: list[str]) -> None:
    url = f"postgresql://postgres@127.0.0.1:{unused_port()}/onduty"
    result = CliRunner().invoke(main, [*args, "--database", url])
    assert result.exit_code == 1
    assert f"cannot use the database {url}:" in result.output
    assert "Traceback" not in result.output


def test_a_sqlite_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    url = f"sqlite:///{blocked / 'onduty.db'}"
    result = CliRunner().invoke(main, ["migrate", "--database", url])
    assert result.exit_code == 1
    assert f"cannot use the database {url}:" in result.output


def test_a_current_database_is_recognised_without_alembic(tmp_path: Path) -> None:
    """Every command upgrades first; at the current schema that takes one query, and the
    start of `onduty serve` does not pay for importing Alembic."""
    url = f"sqlite:///{tmp_path / 'onduty.db'}"
    assert CliRunner().invoke(main, ["migrate", "--database", url]).exit_code == 0
    probe = (
        "import asyncio, sys\n"
        "from onduty.storage.database import resolve\n"
        "from onduty.storage.migrate import upgrade\n"
        f"asyncio.run(upgrade(resolve({url!r})))\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
