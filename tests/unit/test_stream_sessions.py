"""The open streams of each session (service/stream_sessions.py): ending a session ends its
streams and no other, wakes each, and a stream gone is forgotten."""

from __future__ import annotations

import functools

from onduty.service.stream_sessions import OpenStreams


def test_ending_a_session_ends_and_wakes_its_streams_only() -> None:
    streams = OpenStreams()
    woken: list[str] = []
    mine = [streams.open("session-a"), streams.open("session-a")]
    other = streams.open("session-b")
    for name, stream in zip(("a1", "a2", "b"), (*mine, other), strict=True):
        stream.on_end(functools.partial(woken.append, name))
    assert streams.end_session("session-a") == 2
    assert sorted(woken) == ["a1", "a2"]
    assert all(stream.ended for stream in mine) and not other.ended
    assert streams.end_session("session-a") == 0  # nothing left of it
    for stream in mine:
        stream.close()  # closing after the end is harmless
    assert len(streams) == 1


def test_a_stream_ended_before_it_can_be_woken_is_woken_when_it_asks() -> None:
    """A sign-out while the stream was still checking its credential: it learns at once."""
    streams = OpenStreams()
    stream = streams.open("session")
    streams.end_session("session")
    woken: list[bool] = []
    stream.on_end(lambda: woken.append(True))
    assert woken == [True]


def test_closed_streams_are_forgotten() -> None:
    streams = OpenStreams()
    opened = [streams.open(f"session-{i % 3}") for i in range(9)]
    for stream in opened:
        stream.close()
    assert len(streams) == 0
    assert streams.end_session("session-0") == 0
