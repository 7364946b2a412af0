"""Structured logs (structlog) for the service and uvicorn alike, with no secret in them.

A log file must never become a key to the service: no API token, stream ticket or
Authorization header reaches a log line, whoever wrote it (uvicorn's access and
WebSocket lines carry the path with its query, `?token=…`; an error may quote a
URL or a header). Every record is redacted twice: its fields before rendering
(by name, and text values by pattern), then the rendered line (whatever a
traceback or a nested value held). The patterns: `token=`/`ticket=` values,
`Bearer <credential>`, and anything shaped like our tokens (`odt_…`) or tickets
(`odst_…`) wherever it appears.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

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


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """The rendered line, redacted once more: a traceback or a nested value may quote a URL
    or a header that no field-by-field step saw."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(*, json: bool = False, level: int = logging.INFO) -> None:
    colors = sys.stderr.isatty()
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
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_fields,
    ]
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,  # `serve` raises the level after the group set it
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(
            foreign_pre_chain=processors,  # uvicorn's and alembic's own log lines look like ours
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # JSON lines carry the traceback as text (the console renderer draws its own).
                *([structlog.processors.format_exc_info] if json else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
