"""Logging never holds up the event loop (logs.py): a log call hands its record to a queue
and a thread of its own renders and writes it; the exception crosses the queue whole, so
the console still draws the traceback and `--log-json` still carries it as text.

A traceback drawn by the console renderer takes a second and more; rendered where it was
logged, every request waited that long behind each error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from logging.handlers import QueueHandler
from typing import Any

import structlog
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from onduty.logs import flush_logging
from onduty.web.errors import EXCEPTION_HANDLERS, UNEXPECTED
from tests.unit.log_capture import Written, configured

DEPTH = 60


def dive(depth: int) -> None:
    """An error at the bottom of a deep stack: a long traceback to draw."""
    if depth == 0:
        raise ValueError("at the bottom of the stack")
    dive(depth - 1)


class Gate(Written):
    """A stream whose writes wait until the test opens the gate (a slow disk or pipe); at
    most 5 s, so that logging which waits for its writes fails the test rather than hang it."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()

    def write(self, text: str) -> int:
        self.opened.wait(5)
        return super().write(text)

    def written(self) -> str:
        return super(Written, self).getvalue()  # as it is now, without waiting


async def ticking(ticks: list[float]) -> None:
    """The event loop's heartbeat: one tick per turn of the loop."""
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0)


async def test_logging_an_error_returns_before_its_line_is_written_and_the_loop_runs_on() -> None:
    gate = Gate()
    with configured(gate, json=False):
        [handler] = logging.getLogger().handlers
        assert isinstance(handler, QueueHandler)  # the log call only queues the record
        ticks: list[float] = []
        heartbeat = asyncio.create_task(ticking(ticks))
        await asyncio.sleep(0)
        try:
            dive(DEPTH)
        except ValueError:
            structlog.get_logger("onduty.test").exception("unexpected error", path="/reports/status-log")
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application\n")
        logged = len(ticks)
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(ticks) >= logged + 20  # the loop ran on…
        assert gate.written() == ""  # …while both lines still wait to be written
        heartbeat.cancel()
        gate.opened.set()
        out = gate.getvalue()
    # Both written in the end, each with its traceback drawn from the exception it was logged in.
    assert "unexpected error" in out and "Exception in ASGI application" in out
    assert out.count("ValueError: at the bottom of the stack") == 2
    assert "in dive" in out and "/reports/status-log" in out


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_json_lines_carry_the_traceback_as_text() -> None:
    written = Written()
    with configured(written, json=True):
        try:
            dive(3)
        except ValueError:
            structlog.get_logger("onduty.test").exception("unexpected error")
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application\n")
        out = written.getvalue()
    assert "exc_info" not in out
    lines = json_lines(out)
    assert [line["event"].strip() for line in lines] == ["unexpected error", "Exception in ASGI application"]
    for line in lines:
        trace = line["exception"]
        assert trace.startswith("Traceback (most recent call last):")
        assert trace.count(", in dive") == 4 and trace.endswith("ValueError: at the bottom of the stack")


def test_context_variables_reach_every_line_as_where_it_was_logged() -> None:
    written = Written()
    with configured(written, json=True):
        structlog.contextvars.bind_contextvars(request_id="r-17")
        try:
            structlog.get_logger("onduty.test").info("ours")
            logging.getLogger("uvicorn.error").info("uvicorn's")
        finally:
            structlog.contextvars.clear_contextvars()
        logging.getLogger("uvicorn.error").info("after")
        out = written.getvalue()
    assert [(line["event"], line.get("request_id")) for line in json_lines(out)] == [
        ("ours", "r-17"),
        ("uvicorn's", "r-17"),
        ("after", None),
    ]


async def test_a_500_logs_its_traceback_in_the_json_line() -> None:
    """The path a real 500 takes: the app's error handler logs the exception it was given."""

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        dive(2)

    app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
    written = Written()
    with configured(written, json=True):
        async with AsyncTestClient(app) as client:
            response = await client.get("/boom")
        flush_logging()
        out = written.getvalue()
    assert response.status_code == 500 and response.json()["error"]["message"] == UNEXPECTED
    assert "exc_info" not in out
    [line] = [line for line in json_lines(out) if line["event"] == "unexpected error"]
    assert line["exception"].count(", in dive") == 3
    assert "in boom" in line["exception"] and "ValueError: at the bottom of the stack" in line["exception"]


SIGTERMED = """
import logging, os, signal, sys, time
from onduty.logs import configure_logging

class Slow:
    '''Standard output, slowly: lines are still queued when SIGTERM comes.'''
    def write(self, text):
        time.sleep(0.002)
        return sys.stdout.write(text)
    def flush(self):
        sys.stdout.flush()
    def isatty(self):
        return False

configure_logging(json=True, stream=Slow())
for n in range(200):
    logging.getLogger("uvicorn.error").info("line %d", n)
# What uvicorn does after a clean shutdown on SIGTERM: puts back the handler it found, then
# raises the signal it caught again, so that the process ends as signalled.
caught = signal.signal(signal.SIGTERM, lambda *_: None)
signal.signal(signal.SIGTERM, caught)
signal.raise_signal(signal.SIGTERM)
time.sleep(10)
"""


def test_a_sigterm_writes_every_line_still_queued_before_the_process_ends() -> None:
    """SIGTERM's own action ends a process without `atexit`: the lines still queued are
    written first, and the process still ends by the signal."""
    done = subprocess.run([sys.executable, "-c", SIGTERMED], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert [line["event"] for line in json_lines(done.stdout)] == [f"line {n}" for n in range(200)]
