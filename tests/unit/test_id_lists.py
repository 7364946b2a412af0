"""The pin lists thread rows carry (storage/_id_lists.py): what is written reads back the same."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from onduty.storage import _id_lists as id_lists

ids = st.lists(st.integers(min_value=1, max_value=2**63 - 1), max_size=20)


@given(ids)
def test_a_list_reads_back_as_it_was_written(values: list[int]) -> None:
    assert id_lists.decode(id_lists.encode(values)) == tuple(values)


def test_the_format_is_plain_decimal_ids_and_commas() -> None:
    assert id_lists.encode([]) == ""
    assert id_lists.encode([7, 12, 30]) == "7,12,30"
    assert id_lists.decode("") == ()
    assert id_lists.decode("5") == (5,)
