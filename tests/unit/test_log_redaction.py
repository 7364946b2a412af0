"""No token or ticket in any log line (logs.py): uvicorn's lines, ours, errors' tracebacks.

Each test configures logging as `onduty serve` does, writes through the real loggers
(uvicorn's are plain `logging` ones, ours structlog), and reads what the writing thread wrote.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from onduty.logs import REDACTED, redact
from tests.unit.log_capture import Written, configured

TOKEN = "odt_Zx9_-secretTokenValue0123456789abcdefghijkl"
TICKET = "odst_Tk4-secretTicketValue0123456789abcdefghij"
PLAIN = "a-credential-without-any-prefix-0123456789"


@pytest.fixture(params=[False, True], ids=["console", "json"])
def logs(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the configured logging writes (to a buffer here, instead of stderr)."""
    written = Written()
    with configured(written, json=request.param):
        yield written


def test_uvicorns_lines_keep_the_request_but_not_the_token(logs: io.StringIO) -> None:
    # As uvicorn writes them: the access line, and the WebSocket line it writes in any case.
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/v1/events?token={TOKEN}&after=3", "1.1", 101)
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:5001", f"/api/v1/events?ticket={TICKET}"
    )
    out = logs.getvalue()
    assert TOKEN not in out and TICKET not in out
    assert f"GET /api/v1/events?token={REDACTED}&after=3 HTTP/1.1" in out
    assert "101" in out and "127.0.0.1:5000" in out
    assert f"/api/v1/events?ticket={REDACTED}" in out


def test_our_fields_and_messages_hold_no_secret(logs: io.StringIO) -> None:
    log = structlog.get_logger("onduty.test")
    log.warning(
        f"opening /api/v1/events?ticket={TICKET}",
        token=PLAIN,
        authorization=f"Bearer {PLAIN}",
        headers={"authorization": f"Bearer {PLAIN}"},
        seen=[TOKEN],
        url=f"http://host/api/v1/events?access_token={PLAIN}",
    )
    out = logs.getvalue()
    for secret in (TOKEN, TICKET, PLAIN):
        assert secret not in out
    assert "opening /api/v1/events" in out


def test_an_error_with_a_secret_at_hand_logs_none(logs: io.StringIO) -> None:
    """A traceback shows no frame's local variables (they hold what was being checked), and
    a message quoting a credential is redacted."""

    def check(credential: str) -> None:
        raise ValueError(f"refused: Authorization: Bearer {credential}; token={TOKEN}")

    try:
        check(PLAIN)
    except ValueError:
        structlog.get_logger("onduty.test").exception("unexpected error")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application\n")
    out = logs.getvalue()
    assert "unexpected error" in out and "Exception in ASGI application" in out
    assert "ValueError: refused" in out  # the error itself is told
    for secret in (TOKEN, PLAIN):
        assert secret not in out


def test_redact_leaves_ordinary_text_alone() -> None:
    line = '127.0.0.1:5000 - "GET /api/v1/agents?team=a&after=12 HTTP/1.1" 200'
    assert redact(line) == line
    assert redact(redact(f"?token={TOKEN}")) == f"?token={REDACTED}"
