"""Open event streams by the session they were opened for, so that ending a session ends them.

A stream is opened with a token, or with a ticket that a token asked for: either way it
belongs to that token's session (its hash). A stream that outlived its token would go on
telling a signed-out page (or whoever holds that page now) all the user may see, so
revoking a token ends every stream of it: each is marked `ended` and woken, and closes
itself (the web layer closes it with 4401, like any refused credential).

The web layer registers a stream before it checks the credential, so a revocation that
lands while the check waits on the database is not missed: the stream comes out of the
check already ended. Entries live as long as their stream: memory follows the streams
open in this process.
"""

from __future__ import annotations

from collections.abc import Callable


class OpenStream:
    """One stream's hold on its session, from before its credential is checked until it closes."""

    __slots__ = ("_on_end", "_registry", "ended", "session")

    def __init__(self, registry: OpenStreams, session: str) -> None:
        self._registry = registry
        self.session = session
        self.ended = False
        self._on_end: Callable[[], None] | None = None

    def on_end(self, wake: Callable[[], None]) -> None:
        """What wakes the stream when its session ends (its subscription's interrupt)."""
        self._on_end = wake
        if self.ended:
            wake()

    def end(self) -> None:
        self.ended = True
        if self._on_end is not None:
            self._on_end()

    def close(self) -> None:
        """The stream is gone (or was never let in): forget it."""
        self._registry._forget(self)


class OpenStreams:
    def __init__(self) -> None:
        self._by_session: dict[str, dict[OpenStream, None]] = {}

    def __len__(self) -> int:
        return sum(len(streams) for streams in self._by_session.values())

    def open(self, session: str) -> OpenStream:
        stream = OpenStream(self, session)
        self._by_session.setdefault(session, {})[stream] = None
        return stream

    def end_session(self, session: str) -> int:
        """Ends every stream opened for this session; how many there were."""
        streams = self._by_session.pop(session, {})
        for stream in streams:
            stream.end()
        return len(streams)

    def _forget(self, stream: OpenStream) -> None:
        streams = self._by_session.get(stream.session)
        if streams is not None:
            streams.pop(stream, None)
            if not streams:
                del self._by_session[stream.session]
