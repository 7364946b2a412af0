"""`onduty serve` options that change what goes over the wire, and how sign-ins are limited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.serve_process import ServeProcess


@pytest.mark.parametrize(("options", "compressed"), [((), False), (("--ws-deflate",), True)])
async def test_the_event_stream_is_compressed_only_when_asked(
    tmp_path: Path, sqlite_template: Path, options: tuple[str, ...], compressed: bool
) -> None:
    """By default the server declines permessage-deflate, which browsers offer (small JSON
    frames: compressing each for each dashboard costs more CPU than it saves);
    `--ws-deflate` accepts it. Either way the stream works."""
    shutil.copy(sqlite_template, tmp_path / "onduty.db")
    server = ServeProcess(f"sqlite:///{tmp_path / 'onduty.db'}", tmp_path, *options)
    token = server.add_user("root", "admin").token
    server.start()
    try:
        url = f"ws://127.0.0.1:{server.port}/api/v1/events?token={token}"
        async with connect(url, compression="deflate") as ws:
            ready = json.loads(await ws.recv())
            extensions = [extension.name for extension in ws.protocol.extensions]
    finally:
        server.stop()
    assert ready["name"] == "stream.ready"
    assert extensions == (["permessage-deflate"] if compressed else [])


@pytest.mark.parametrize(
    ("options", "answers"),
    [
        ((), [401, 401, 429, 401, 429]),
        (("--forwarded-allow-ips", "127.0.0.1"), [401, 401, 429, 401, 401]),
    ],
    ids=["header-ignored", "proxy-trusted"],
)
def test_sign_in_limits_follow_the_serve_options_and_count_the_connections_address(
    tmp_path: Path, sqlite_template: Path, options: tuple[str, ...], answers: list[int]
) -> None:
    """With 2 failures per username and 3 per address in 60 s: a third try for ann is refused,
    whatever X-Forwarded-For says. By default the header is ignored, so every try counts
    against this connection's address and carl's is refused too; with the proxy on 127.0.0.1
    trusted, each try counts against the address the header names."""
    limits = ("--sign-in-failures-per-user", "2", "--sign-in-failures-per-address", "3", "--sign-in-window", "60")
    shutil.copy(sqlite_template, tmp_path / "onduty.db")
    server = ServeProcess(f"sqlite:///{tmp_path / 'onduty.db'}", tmp_path, *limits, *options)
    server.start()
    try:
        seen = []
        for i, username in enumerate(["ann", "ann", "ann", "bob", "carl"]):
            response = httpx.post(
                f"{server.base}/api/v1/auth/token",
                json={"username": username, "password": "wrong password"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                timeout=10,
            )
            seen.append(response.status_code)
            if response.status_code == 429:
                assert 1 <= int(response.headers["retry-after"]) <= 60
    finally:
        server.stop()
    assert seen == answers


@pytest.mark.parametrize("json_lines", [True, False], ids=["json", "console"])
def test_sigusr1_logs_what_every_task_of_the_server_waits_on(
    tmp_path: Path, sqlite_template: Path, json_lines: bool
) -> None:
    """An operator's (and a failing test's) look inside a server that stopped making
    progress: each asyncio task by name, the coroutines it is suspended in, what it awaits.
    The server goes on serving."""
    shutil.copy(sqlite_template, tmp_path / "onduty.db")
    options = ("--log-json",) if json_lines else ()
    server = ServeProcess(f"sqlite:///{tmp_path / 'onduty.db'}", tmp_path, *options)
    server.start()
    try:
        server.dump_tasks()
        text = server.log.read_text()
        assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
    if not json_lines:  # the console's lines too (a field it renders its own way broke them once)
        assert "asyncio tasks" in text and "name=onduty-writer" in text and "Traceback" not in text, text
        return
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    heading = [r for r in records if r.get("event") == "asyncio tasks"]
    tasks = {r["name"]: r["coroutines"] for r in records if r.get("event") == "task"}
    assert len(heading) == 1 and heading[0]["count"] == len(tasks)
    writer = tasks["onduty-writer"]  # the service's commit loop, waiting for commands
    assert any(line.endswith(" in _write_loop") for line in writer), writer
    assert writer[-1].startswith("awaits "), writer
