"""A lean HTTP/1.1 client: a follower's calls to the owner (forwarding.py), and the benches' load.

Why not httpx: a forwarded write cost the follower about 2 ms of CPU, over half of it in
httpx and a quarter of that in httpcore's pool bookkeeping, which walks every pooled
connection on each request (docs/performance.md, "Several instances"). What the instances
say to each other is plain: a request with a Content-Length body, an answer from uvicorn
under Litestar with a Content-Length or chunked body. This speaks that much of HTTP/1.1,
over asyncio streams, and nothing else: no TLS, no redirects, no compression, no proxies.

- `Connection`: one connection, one request at a time. Its errors are the streams' own
  (OSError, EOFError, asyncio.LimitOverrunError) or `ProtocolError`.
- `Client`: a bounded pool of kept-alive connections for each server, a time limit for each
  request, and every failure as `TransportError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024  # bytes: a response's status line and headers, at most
_NO_BODY = frozenset({204, 304})


class ProtocolError(ValueError):
    """The server's answer is not HTTP/1.1 as this client reads it."""


class TransportError(Exception):
    """No answer: no connection, no answer in time, the connection lost or an answer that is
    not HTTP (its message: which; its __cause__: the error itself). Whether the server acted
    on the request is not known."""


class Response:
    __slots__ = ("body", "headers", "keep_alive", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool) -> None:
        self.status = status
        self.headers = headers  # (name in lower case, value), in the order received; values latin-1
        self.body = body
        self.keep_alive = keep_alive  # whether the connection may carry another request

    def header(self, name: str) -> str | None:
        """The first value of the header `name` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Connection:
    __slots__ = ("host", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer = reader, writer
        self.host = host  # the Host header

    @classmethod
    async def open(cls, host: str, port: int, host_header: str | None = None) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
        return cls(reader, writer, host_header or f"{host}:{port}")

    @property
    def usable(self) -> bool:
        """Whether an idle connection may carry a request: the server has not closed it."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def request(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        """Sends the request (`target`: path and query; `headers` without Host, Content-Length
        or Connection, which this writes) and reads the whole answer. A failure before an
        answer began raises `Unanswered`."""
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        lines.append("\r\n")
        text = "".join(lines)
        # A line break in a name or value would end the header there and start another
        # (or another request): a header's values come from clients.
        if text.count("\n") != len(headers) + 4 or text.count("\r") != len(headers) + 4:
            raise ValueError("a header's name or value holds a line break")
        self.writer.write(text.encode("latin-1") + body)
        try:
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if error.partial:
                raise
            raise Unanswered("the connection ended before an answer") from error
        except (ConnectionResetError, BrokenPipeError) as error:
            raise Unanswered(f"the connection was reset ({type(error).__name__})") from error
        return await self._response(head, method)

    async def _response(self, head: bytes, method: str) -> Response:
        status, lines, keep_alive = _status(head)
        while 100 <= status < 200 and status != 101:  # an interim answer; the real one follows
            status, lines, keep_alive = _status(await self.reader.readuntil(b"\r\n\r\n"))
        headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon:
                raise ProtocolError(f"a header line without a colon: {line[:100]!r}")
            key, text = name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1")
            headers.append((key, text))
            if key == "content-length":
                if not (text.isascii() and text.isdigit()) or (length is not None and int(text) != length):
                    raise ProtocolError(f"Content-Length {text!r}")
                length = int(text)
            elif key == "transfer-encoding":
                chunked = text.rpartition(",")[2].strip().lower() == "chunked"
                if not chunked:  # another coding last: the body runs to the connection's end
                    length, keep_alive = None, False
            elif key == "connection":
                tokens = {token.strip().lower() for token in text.split(",")}
                if "close" in tokens:
                    keep_alive = False
                elif "keep-alive" in tokens and head.startswith(b"HTTP/1.0"):
                    keep_alive = True
        if method == "HEAD" or status in _NO_BODY or status < 200:
            body = b""
            keep_alive = keep_alive and status >= 200  # 101: the connection speaks another protocol now
        elif chunked:
            body = await self._chunks()
        elif length is not None:
            body = await self.reader.readexactly(length) if length else b""
        else:  # neither: the body ends where the server closes the connection
            body = await self.reader.read()
            keep_alive = False
        return Response(status, headers, body, keep_alive)

    async def _chunks(self) -> bytes:
        reader = self.reader
        parts: list[bytes] = []
        while True:
            line = await reader.readuntil(b"\r\n")
            size_text = line.partition(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"a chunk's size {size_text[:20]!r}") from None
            if size < 0 or not size_text.isalnum():
                raise ProtocolError(f"a chunk's size {size_text[:20]!r}")
            if size == 0:
                break
            chunk = await reader.readexactly(size + 2)
            if not chunk.endswith(b"\r\n"):
                raise ProtocolError("a chunk not ended by CRLF")
            parts.append(chunk[:-2])
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers: passed over
            pass
        return b"".join(parts)


class Unanswered(ConnectionError):
    """The request failed before an answer began: the connection ended with no byte of one, or
    was reset (what a server does when a request reaches a connection it has closed). On a
    kept-alive connection: the server closed it while it was idle, or as the request came."""


def _status(head: bytes) -> tuple[int, list[bytes], bool]:
    """(status, the header lines, whether the connection stays open by default)."""
    lines = head[:-4].split(b"\r\n")
    first = lines[0]
    if not first.startswith(b"HTTP/1.") or first[8:9] != b" " or not first[9:12].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {first[:100]!r}")
    return int(first[9:12]), lines[1:], first[7:8] != b"0"


class _Server:
    """Where one base URL points, and the connections kept open to it."""

    __slots__ = ("host", "host_header", "idle", "port", "slots")

    def __init__(self, base: str, size: int) -> None:
        parts = urlsplit(base)
        if parts.scheme != "http" or not parts.hostname:
            raise TransportError(f"{base!r} is not an http:// address")
        self.host, self.port, self.host_header = parts.hostname, parts.port or 80, parts.netloc
        self.idle: list[Connection] = []  # the last used last: the least likely closed by the server
        self.slots = asyncio.Semaphore(size)  # connections in use or opening

    def close_idle(self) -> None:
        while self.idle:
            self.idle.pop().close()

    def take_idle(self) -> Connection | None:
        while self.idle:
            conn = self.idle.pop()
            if conn.usable:
                return conn
            conn.close()  # closed by the server while idle (uvicorn: after 5 s)
        return None


class Client:
    """Requests over kept-alive connections, to one server at a time mostly (a follower's
    owner): at most `size` connections to a server, one request at a time on each (more
    requests wait their turn); `timeout` seconds for each request, its wait for a connection
    included. Every request given to it must be safe to send twice (see `_exchange`)."""

    def __init__(self, *, size: int, timeout: float) -> None:
        self._size = size
        self._timeout = timeout
        self._servers: dict[str, _Server] = {}

    async def request(
        self, base: str, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Response:
        """`method` `target` (path and query) on the server at `base` (http://host:port)."""
        server = self._servers.get(base)
        if server is None:
            server = self._servers[base] = _Server(base, self._size)
            # Another server than before: the owner moved. The connections kept to the old one
            # would wait, open, for a request that may never come (a dead owner's among them).
            for other in self._servers.values():
                other.close_idle()
        try:
            async with asyncio.timeout(self._timeout), server.slots:
                return await self._exchange(server, method, target, headers, body)
        # What the error says is its kind only: it may reach a client of the API (a 503's
        # message), which has no business learning the instances' addresses; the cause is kept.
        except TimeoutError:
            raise TransportError(f"no answer within {self._timeout:g} s") from None
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as error:
            raise TransportError(type(error).__name__) from error

    async def _exchange(
        self, server: _Server, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        conn = server.take_idle()
        if conn is not None:
            try:
                return self._done(server, conn, await conn.request(method, target, headers, body))
            except Unanswered:
                # The server closed the kept-alive connection before answering, which it does
                # to idle ones: sent again, once, on a new connection. Safe ONLY because every
                # request sent here carries an idempotency key (forwarding.py: the API's
                # Idempotency-Key header, the internal command's key): should the server have
                # acted on it after all (a reset may also cut short an answer begun), the
                # second one applies nothing again.
                conn.close()
            except BaseException:
                conn.close()
                raise
        conn = await Connection.open(server.host, server.port, server.host_header)
        try:
            return self._done(server, conn, await conn.request(method, target, headers, body))
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _done(server: _Server, conn: Connection, response: Response) -> Response:
        if response.keep_alive:
            server.idle.append(conn)
        else:
            conn.close()
        return response

    async def close(self) -> None:
        servers, self._servers = self._servers, {}
        for server in servers.values():
            server.close_idle()
