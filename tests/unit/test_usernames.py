"""The username rule (onduty/usernames.py): one form per username, and UTS #39 skeletons that
match for look-alikes, decided by Unicode's confusables table."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onduty.usernames import UsernameError, looks_alike, normalise, skeleton


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("A1", "a1"),
        (" a1 ", "a1"),
        ("\u00a0A1\u3000", "a1"),  # no-break and ideographic spaces are spaces
        ("\uff21\uff11", "a1"),  # fullwidth
        ("Straße", "strasse"),  # case folding, not lower()
        ("\u212bngstr\u00f6m", "\u00e5ngstr\u00f6m"),  # the Angstrom sign is Å, composed again after folding
        ("ann smith", "ann smith"),
    ],
)
def test_a_username_has_one_form(typed: str, stored: str) -> None:
    assert normalise(typed) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "empty"),
        (" \t\n", "empty"),
        ("a\x00b", "U+0000"),
        ("a\u200db", "U+200D"),
        ("a\u2028b", "U+2028"),
        ("a\ue000b", "U+E000"),
        ("a\u1680b", "plain spaces only"),
        ("a  b", "two spaces"),
        ("x" * 81, "at most 80"),
    ],
)
def test_no_usable_username_is_refused_naming_the_field(typed: str, says: str) -> None:
    with pytest.raises(UsernameError, match=re.escape(says)) as refused:
        normalise(typed)
    assert refused.value.field == "username"


@given(st.text(max_size=30))
def test_the_form_is_stable(typed: str) -> None:
    try:
        once = normalise(typed)
    except UsernameError:
        return
    assert normalise(once) == once
    assert skeleton(skeleton(once)) == skeleton(once)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("admin", "\u0430dmin"),  # Cyrillic а
        ("paypal", "paypa1"),  # the table maps the digit 1 to l
        ("mary", "rnary"),  # rn for m
        ("google", "g\u03bf\u03bfgle"),  # Greek omicron
        ("ADMIN", "\u0430dmin"),  # after the case is folded
    ],
)
def test_look_alikes_share_a_skeleton(a: str, b: str) -> None:
    assert looks_alike(a, b)


@pytest.mark.parametrize(("a", "b"), [("ann", "anne"), ("bob0", "bobo"), ("a-1", "a_1"), ("cai", "dee")])
def test_different_usernames_do_not(a: str, b: str) -> None:
    assert not looks_alike(a, b)
