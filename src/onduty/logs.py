"""Structured logs (structlog) for the service and uvicorn alike, with no secret in them,
written without holding up the event loop.

A log file must never become a key to the service: no API token, stream ticket or
Authorization header reaches a log line, whoever wrote it (uvicorn's access and
WebSocket lines carry the path with its query, `?token=…`; an error may quote a
URL or a header). Every record is redacted twice: its fields before rendering
(by name, and text values by pattern), then the rendered line (whatever a
traceback or a nested value held). The patterns: `token=`/`ticket=` values,
`Bearer <credential>`, and anything shaped like our tokens (`odt_…`) or tickets
(`odst_…`) wherever it appears.

A log call only hands its record to a queue: rendering it (a traceback drawn by the
console renderer takes a second and more) and writing it happen in a thread of their
own, so an error in one request never stalls every other one. The record crosses
the queue whole, its exception included; what must be read where it was logged is
read before it leaves: the exception being handled, the context variables, the
message with its arguments. What is still queued is written when logging is configured
again, at exit, and at SIGTERM (`stop_logging`).
"""

from __future__ import annotations

import atexit
import copy
import logging
import queue
import re
import signal
import sys
import threading
from collections.abc import MutableMapping
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from types import FrameType
from typing import IO, Any

import structlog

REDACTED = "[redacted]"
_SECRET_FIELDS = frozenset({"token", "ticket", "authorization", "password", "password_hash"})
_SECRET_PATTERNS = (
    # A query's (or a form's, or a key=value line's) token or ticket, access_token and the
    # like too: up to the next separator.
    (re.compile(r"(?i)(token|ticket)=[^&\s\"'#;,\\]+"), rf"\1={REDACTED}"),
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;\\]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\b(odt|odst)_[A-Za-z0-9_-]+"), rf"\1_{REDACTED}"),
)
_CONTEXT = "onduty_context"  # a foreign record's context variables, read where it was logged


def redact(text: str) -> str:
    """`text` without any token, ticket or bearer credential in it."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_fields(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: secret fields by name, and secrets inside text fields."""
    for key, value in event_dict.items():
        if key.lower() in _SECRET_FIELDS:
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def capture_exc_info(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """`exc_info=True` (what `log.exception` passes) as the exception itself: the thread that
    renders the line later is not handling it, and would find no exception to show."""
    exc_info = event_dict.get("exc_info")
    if isinstance(exc_info, BaseException):
        event_dict["exc_info"] = (type(exc_info), exc_info, exc_info.__traceback__)
    elif exc_info is not None and not isinstance(exc_info, tuple):
        current = sys.exc_info()
        if exc_info and current[0] is not None:
            event_dict["exc_info"] = current
        else:
            del event_dict["exc_info"]
    return event_dict


def _record_context(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A foreign record's context variables, as they were where it was logged."""
    record = event_dict.get("_record")
    context: dict[str, Any] = getattr(record, _CONTEXT, None) or {}
    return {**context, **event_dict}


def _record_time(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A foreign record's time: when it was logged, not when its turn in the queue came."""
    record = event_dict.get("_record")
    if isinstance(record, logging.LogRecord):
        event_dict["timestamp"] = datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z")
    return event_dict


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """The rendered line, redacted once more: a traceback or a nested value may quote a URL
    or a header that no field-by-field step saw."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class HandOff(QueueHandler):
    """Queues a record as it is, its exception included (the stock `prepare` renders the
    record here, in the caller's thread, and drops the exception)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)  # other handlers may see the original
        if getattr(record, "_logger", None) is None:  # not structlog's: its message is read now
            record.msg, record.args = record.getMessage(), None
            setattr(record, _CONTEXT, structlog.contextvars.get_contextvars())
        return record


class _Written(logging.LogRecord):
    """Not a line: a mark the writing thread sets on reaching it, once everything queued before it is written."""

    def __init__(self) -> None:
        super().__init__("onduty.logs", logging.DEBUG, __file__, 0, "", None, None)
        self.reached = threading.Event()


class _Writing(QueueListener):
    def handle(self, record: logging.LogRecord) -> None:
        if isinstance(record, _Written):
            record.reached.set()
        else:
            super().handle(record)


class _Logging:
    """The running configuration: the queue, the thread emptying it, the handler it writes with.

    A `SimpleQueue`: its `put` cannot be interrupted halfway by a signal handler (a
    `queue.Queue` holds a lock in Python code there, which `stop_logging` run from the
    SIGTERM handler would then wait for forever)."""

    records: queue.SimpleQueue[logging.LogRecord] | None = None
    listener: _Writing | None = None
    writer: logging.Handler | None = None
    exit_hook = False


def configure_logging(*, json: bool = False, level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Structured logs to `stream` (standard error), rendered and written by a thread of their
    own. Configuring again replaces the previous configuration, whose lines are written first."""
    stop_logging()
    out = sys.stderr if stream is None else stream
    colors = out.isatty()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=colors,
            # Without the frames' local variables: they hold the tokens and tickets being checked.
            exception_formatter=structlog.dev.RichTracebackFormatter(
                color_system="truecolor" if colors else None, show_locals=False
            ),
        )
    )
    # Ours run where the line is logged; a foreign record (uvicorn's, alembic's) goes through
    # the same steps in the writing thread, from what its record kept.
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_fields,
        capture_exc_info,
    ]
    foreign: list[structlog.types.Processor] = [
        _record_context,
        structlog.processors.add_log_level,
        _record_time,
        redact_fields,
    ]
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,  # `serve` raises the level after the group set it
    )
    writer = logging.StreamHandler(out)
    writer.setFormatter(
        RedactingFormatter(
            foreign_pre_chain=foreign,  # uvicorn's and alembic's own log lines look like ours
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # JSON lines carry the traceback as text (the console renderer draws its own).
                *([structlog.processors.format_exc_info] if json else []),
                renderer,
            ],
        )
    )
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = _Writing(records, writer)
    listener.start()
    _Logging.records, _Logging.listener, _Logging.writer = records, listener, writer
    _write_what_is_queued_at_exit()
    root = logging.getLogger()
    root.handlers = [HandOff(records)]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The forwarder's HTTP client (service/forwarding.py) would log a line per write a
    # follower forwards: its failures are told by the forwarder itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _write_what_is_queued_at_exit() -> None:
    """At exit (atexit, which runs before logging's own), and at SIGTERM: its own action ends
    the process there and then, without atexit, and uvicorn, having shut down cleanly on a
    SIGTERM, raises it again so that the process ends as signalled: its last lines, still
    queued, would be lost. Only where SIGTERM has its own action still (a process's main
    thread, nobody else's handler in place)."""
    if _Logging.exit_hook:
        return
    _Logging.exit_hook = True
    atexit.register(stop_logging)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _written_then_terminated)


def _written_then_terminated(signum: int, _: FrameType | None) -> None:
    stop_logging()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def flush_logging(timeout: float = 30.0) -> bool:
    """Wait until every line logged so far is written (at most `timeout` seconds); whether it is."""
    records, writer = _Logging.records, _Logging.writer
    if records is None or writer is None:
        return True
    mark = _Written()
    records.put(mark)
    if not mark.reached.wait(timeout):
        return False
    writer.flush()
    return True


def stop_logging() -> None:
    """Write what is queued and stop the writing thread; what is logged afterwards (at exit)
    is written directly."""
    records, listener, writer = _Logging.records, _Logging.listener, _Logging.writer
    if records is None or listener is None or writer is None:
        return
    _Logging.records = _Logging.listener = _Logging.writer = None
    root = logging.getLogger()
    root.handlers = [writer if isinstance(h, HandOff) and h.queue is records else h for h in root.handlers]
    listener.stop()
    writer.flush()
