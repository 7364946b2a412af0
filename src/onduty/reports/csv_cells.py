"""One CSV line, safe to open in a spreadsheet: the one writer every CSV export uses.

Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be read by
Excel, LibreOffice or Google Sheets as a formula (OWASP "CSV injection"), and names and
labels come from users. Such text gets a leading `'`, which spreadsheets show as text.
Numbers the service writes (ids, seconds, counts) are not text and stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, or `'value` when it is text a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_line(values: Iterable[Any]) -> str:
    """One row as RFC 4180 text. CRLF line ends: with them the writer also quotes a cell
    holding a lone carriage return, which a bare "\\n" terminator would leave unquoted."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(value) for value in values])
    return buffer.getvalue()
