"""The one CSV writer of the exports: formulas escaped (OWASP), numbers kept, RFC 4180 quoting."""

from __future__ import annotations

import csv
import io

import pytest

from onduty.reports.csv_cells import csv_line, safe_cell


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "=1+2", "+1", "-1+1", "@SUM(A1)", "\tTab", "\rCR", "-", "="]
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert next(csv.reader(io.StringIO(csv_line(["x", text, 1]), newline=""))) == ["x", "'" + text, "1"]


@pytest.mark.parametrize("text", ["", "Lunch break", "a=b", "team total: +1", "2027-03-01T09:00:00Z", " =1"])
def test_other_text_is_written_as_is(text: str) -> None:
    assert safe_cell(text) == text


@pytest.mark.parametrize("number", [-3, -0.5, 0, 42, 1.25])
def test_numbers_stay_numbers_even_negative(number: float) -> None:
    assert safe_cell(number) == number
    assert csv_line([number]) == f"{number}\r\n"


def test_cells_are_quoted_as_rfc_4180_wants() -> None:
    line = csv_line(['say "hi"', "a,b", "two\nlines", "\rCR", None])
    assert line == '"say ""hi""","a,b","two\nlines","\'\rCR",\r\n'
    assert next(csv.reader(io.StringIO(line, newline=""))) == ['say "hi"', "a,b", "two\nlines", "'\rCR", ""]
