"""The lean HTTP/1.1 client of the calls between instances (service/http_client.py), against
real servers on loopback: uvicorn with a tiny ASGI app, as an owner answers, and plain
asyncio servers for what uvicorn never does (closing as a request arrives, never answering,
a status line that is not HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from onduty.service.http_client import Client, Connection, TransportError
from tests.integration.conftest import ServeAsgi, read_body

Scope = dict[str, Any]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Echo:
    """Answers each request with its body, and keeps the client port (the connection) and
    headers of each; `?chunks=N` answers in N parts without a length (uvicorn then sends it
    chunked), `?close` with Connection: close, `?sleep=S` after S seconds."""

    def __init__(self) -> None:
        self.connections: list[int] = []  # the client's port, a request
        self.headers: list[dict[bytes, bytes]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.connections.append(scope["client"][1])
        self.headers.append(dict(scope["headers"]))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = await read_body(receive)
            query = dict(
                part.split("=", 1) if "=" in part else (part, "")
                for part in scope["query_string"].decode().split("&")
                if part
            )
            if "sleep" in query:
                await asyncio.sleep(float(query["sleep"]))
            headers = [(b"content-type", b"application/octet-stream"), (b"x-seen", "é".encode("latin-1"))]
            if "close" in query:
                headers.append((b"connection", b"close"))
            chunks = int(query.get("chunks", "0"))
            if not chunks:
                headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 201, "headers": headers})
            if not chunks:
                await send({"type": "http.response.body", "body": body})
                return
            step = -(-len(body) // chunks)
            for i in range(chunks):
                await send({"type": "http.response.body", "body": body[i * step : (i + 1) * step], "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            self.in_flight -= 1


@pytest.fixture
async def raw() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[str, list[int]]]]]:
    """Starts a plain asyncio server running `handler` for each connection; its base URL and
    the count of connections it accepted (one item a connection)."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> tuple[str, list[int]]:
        accepted: list[int] = []

        async def each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(1)
            try:
                await handler(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(each, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", accepted

    yield start
    for server in servers:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's head and its Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    return head + await reader.readexactly(length)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_sequential_requests_share_one_kept_alive_connection(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app)
    client = Client(size=8, timeout=5)
    try:
        for i in range(50):
            response = await client.request(base, "POST", "/echo", {"x-n": str(i)}, f"body {i}".encode())
            assert (response.status, response.body) == (201, f"body {i}".encode())
    finally:
        await client.close()
    assert len(set(app.connections)) == 1
    assert [h[b"x-n"] for h in app.headers] == [str(i).encode() for i in range(50)]
    assert all(h[b"content-length"] == str(len(f"body {i}")).encode() for i, h in enumerate(app.headers))


async def test_headers_both_ways_are_latin_1_and_names_come_back_in_lower_case(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app)
    client = Client(size=1, timeout=5)
    try:
        response = await client.request(base, "PUT", "/", {"X-Name": "Zoë"}, b"")
    finally:
        await client.close()
    assert app.headers[0][b"x-name"] == "Zoë".encode("latin-1")
    assert response.header("x-seen") == "é"
    assert response.header("content-type") == "application/octet-stream"
    assert ("content-length", "0") in response.headers


async def test_a_chunked_answer_is_read_whole_and_the_connection_kept(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app)
    client = Client(size=4, timeout=5)
    body = bytes(range(256)) * 1000
    try:
        chunked = await client.request(base, "POST", "/?chunks=7", {}, body)
        after = await client.request(base, "POST", "/", {}, b"next")
    finally:
        await client.close()
    assert chunked.header("transfer-encoding") == "chunked"
    assert chunked.header("content-length") is None
    assert chunked.body == body
    assert after.body == b"next"
    assert len(set(app.connections)) == 1


async def test_chunk_extensions_and_trailers_are_passed_over(raw: Any) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
            )
        await reader.read()

    base, accepted = await raw(answer)
    client = Client(size=1, timeout=5)
    try:
        assert (await client.request(base, "POST", "/", {}, b"")).body == b"hello world"
        assert (await client.request(base, "POST", "/", {}, b"")).body == b"hello world"
    finally:
        await client.close()
    assert len(accepted) == 1


async def test_an_answer_with_connection_close_leaves_its_connection(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app)
    client = Client(size=4, timeout=5)
    try:
        assert (await client.request(base, "POST", "/?close", {}, b"a")).body == b"a"
        assert (await client.request(base, "POST", "/", {}, b"b")).body == b"b"
        assert (await client.request(base, "POST", "/", {}, b"c")).body == b"c"
    finally:
        await client.close()
    first, second, third = app.connections
    assert first != second == third


async def test_a_connection_the_server_closed_while_idle_is_not_used_again(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app, keep_alive=1)  # uvicorn closes a connection idle for 1 s
    client = Client(size=4, timeout=5)
    try:
        assert (await client.request(base, "POST", "/", {}, b"a")).status == 201
        await asyncio.sleep(1.5)
        assert (await client.request(base, "POST", "/", {}, b"b")).body == b"b"
    finally:
        await client.close()
    assert len(set(app.connections)) == 2


async def test_the_connections_kept_to_a_server_are_closed_once_requests_go_to_another(raw: Any) -> None:
    """The owner moved: what was kept open to the old one is of no more use."""
    closed = asyncio.Event()

    async def answer_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                closed.set()
                return
            writer.write(OK)

    old, _ = await raw(answer_until_closed)
    new, _ = await raw(answer_until_closed)
    client = Client(size=4, timeout=5)
    try:
        await client.request(old, "POST", "/", {}, b"")
        await asyncio.sleep(0.1)
        assert not closed.is_set()
        await client.request(new, "POST", "/", {}, b"")
        await asyncio.wait_for(closed.wait(), 2)
    finally:
        await client.close()


async def test_a_request_the_server_closed_the_connection_under_is_sent_again_once_on_a_new_one(raw: Any) -> None:
    """The race a kept-alive connection has: the server closes it just as the next request
    arrives, answering nothing. The request goes again on a new connection (safe for the
    instances' calls: each carries an idempotency key)."""
    requests: list[bytes] = []

    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()
        requests.append(await read_request(reader))  # read, then closed without an answer

    base, accepted = await raw(one_answer_then_close)
    client = Client(size=4, timeout=5)
    try:
        assert (await client.request(base, "POST", "/", {"idempotency-key": "k1"}, b"1")).body == b"ok"
        assert (await client.request(base, "POST", "/", {"idempotency-key": "k2"}, b"2")).body == b"ok"
    finally:
        await client.close()
    assert len(accepted) == 2
    assert [r.split(b"\r\n\r\n")[1] for r in requests] == [b"1", b"2", b"2"]


async def test_a_request_is_not_sent_again_when_part_of_an_answer_had_come(raw: Any) -> None:
    async def half_an_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Le")

    base, accepted = await raw(half_an_answer)
    client = Client(size=4, timeout=5)
    try:
        await client.request(base, "POST", "/", {}, b"")
        with pytest.raises(TransportError, match="IncompleteReadError"):
            await client.request(base, "POST", "/", {}, b"")
    finally:
        await client.close()
    assert len(accepted) == 1


async def test_a_new_connection_that_fails_is_not_tried_again(raw: Any) -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    base, accepted = await raw(close_at_once)
    client = Client(size=4, timeout=5)
    try:
        with pytest.raises(TransportError):
            await client.request(base, "POST", "/", {}, b"")
    finally:
        await client.close()
    assert len(accepted) == 1


async def test_a_server_that_never_answers_times_out_and_its_connection_is_dropped(raw: Any) -> None:
    ended = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # until the client closes
        ended.set()

    base, accepted = await raw(silent)
    client = Client(size=4, timeout=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(TransportError, match=r"no answer within 0\.3 s"):
            await client.request(base, "POST", "/", {}, b"")
        assert 0.3 <= loop.time() - started < 1.0
        await asyncio.wait_for(ended.wait(), 2)
    finally:
        await client.close()
    assert len(accepted) == 1


async def test_nothing_listening_is_a_transport_error_that_names_no_address() -> None:
    client = Client(size=4, timeout=2)
    try:
        with pytest.raises(TransportError, match=r"^ConnectionRefusedError$"):
            await client.request("http://127.0.0.1:9", "POST", "/", {}, b"")
    finally:
        await client.close()


async def test_an_answer_that_is_not_http_is_a_transport_error(raw: Any) -> None:
    async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")

    base, _ = await raw(not_http)
    client = Client(size=4, timeout=2)
    try:
        with pytest.raises(TransportError, match=r"^ProtocolError$") as raised:
            await client.request(base, "POST", "/", {}, b"")
    finally:
        await client.close()
    assert "not an HTTP/1.x status line" in str(raised.value.__cause__)


async def test_a_large_body_goes_and_comes_back_whole(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app)
    client = Client(size=4, timeout=10)
    body = bytes(range(256)) * (8 * 4096)  # 8 MiB
    try:
        plain = await client.request(base, "POST", "/", {}, body)
        chunked = await client.request(base, "POST", "/?chunks=3", {}, body)
    finally:
        await client.close()
    assert plain.body == body
    assert chunked.body == body
    assert len(set(app.connections)) == 1


async def test_requests_beyond_the_pool_wait_for_a_connection(serve: ServeAsgi) -> None:
    app = Echo()
    base = await serve(app)
    client = Client(size=4, timeout=10)
    try:
        answers = await asyncio.gather(
            *(client.request(base, "POST", "/?sleep=0.05", {}, str(i).encode()) for i in range(40))
        )
    finally:
        await client.close()
    assert [a.body for a in answers] == [str(i).encode() for i in range(40)]
    assert app.most_in_flight == 4
    assert len(set(app.connections)) == 4


async def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent(raw: Any) -> None:
    received: list[bytes] = []

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())

    base, _ = await raw(keep)
    client = Client(size=4, timeout=2)
    try:
        with pytest.raises(TransportError, match=r"^ValueError$") as raised:
            await client.request(base, "POST", "/", {"x-a": "1\r\nx-b: 2"}, b"")
    finally:
        await client.close()
    assert "line break" in str(raised.value.__cause__)
    async with asyncio.timeout(2):
        while not received:
            await asyncio.sleep(0.01)
    assert received == [b""]


async def test_a_connection_carries_one_request_after_another(serve: ServeAsgi) -> None:
    """The benches' load uses the connection alone (bench/loadgen.py)."""
    app = Echo()
    port = int((await serve(app)).rpartition(":")[2])
    conn = await Connection.open("127.0.0.1", port)
    try:
        for i in range(3):
            response = await conn.request("POST", "/", {}, str(i).encode())
            assert (response.status, response.body, response.keep_alive) == (201, str(i).encode(), True)
    finally:
        conn.close()
    assert len(set(app.connections)) == 1
