"""Logging configured as `onduty serve` configures it, writing to a stream of the test's."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import structlog

from onduty.logs import configure_logging, flush_logging, stop_logging


class Written(io.StringIO):
    """What the configured logging wrote: reading it first waits for every line logged so far."""

    def getvalue(self) -> str:
        flush_logging()
        return super().getvalue()


@contextmanager
def configured(stream: IO[str], *, json: bool) -> Iterator[None]:
    """`configure_logging(json=…)` onto `stream`; the test's own logging is back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    # A server run in this process before (uvicorn with access_log=False) stops its access
    # logger from reaching the root's handler; `onduty serve --access-log` lets it through.
    access = logging.getLogger("uvicorn.access")
    propagate, access.propagate = access.propagate, True
    configure_logging(json=json, stream=stream)
    try:
        yield
    finally:
        stop_logging()
        access.propagate = propagate
        root.handlers, root.level = handlers, level
        structlog.configure(**config)
