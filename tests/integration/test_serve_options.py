"""`onduty serve` options that change what goes over the wire."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.serve_process import ServeProcess


@pytest.mark.parametrize(("options", "compressed"), [((), False), (("--ws-deflate",), True)])
async def test_the_event_stream_is_compressed_only_when_asked(
    tmp_path: Path, options: tuple[str, ...], compressed: bool
) -> None:
    """By default the server declines permessage-deflate, which browsers offer (small JSON
    frames: compressing each for each dashboard costs more CPU than it saves);
    `--ws-deflate` accepts it. Either way the stream works."""
    database = f"sqlite:///{tmp_path / 'onduty.db'}"
    server = ServeProcess(database, tmp_path, *options)
    token = json.loads(server.onduty("users", "add", "root", "--role", "admin"))["token"]
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
