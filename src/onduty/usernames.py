"""Usernames: one spelling per person, and no two people whose usernames look alike.

Every username that comes in (creating a user, signing in, looking one up) goes through
`normalise`: NFKC, case-folded, NFKC again (folding can undo NFKC, as in `ǰ`), then trimmed
of whitespace. So `A1`, `a1` and ` a1 ` are one username, and fullwidth `ａ１` is too.

Two usernames look alike when their `skeleton`s are equal: the confusable-detection
skeleton of Unicode's UTS #39 (Cyrillic `аdmin` and `admin`; `paypa1` and `paypal`, since
the table maps the digit 1 to the letter l). Only one of them may exist; the database holds
each user's skeleton in a unique column, so two creations at once cannot both get in.

The confusables table is Unicode's confusables.txt as the confusable-homoglyphs package
ships it: a JSON map from each character to the characters it is confusable with, in both
directions. In confusables.txt every source character maps to one prototype and no
prototype is itself a source, so the map is a set of stars: a source has one partner, its
prototype, and the prototype the sources around it. Where a star has a single source
(two characters each naming only the other), which of them is the prototype does not
matter for comparing skeletons: both map to the smaller of the two.
"""

from __future__ import annotations

import functools
import unicodedata

MAX_LENGTH = 80  # the users table's column
# Control, format (invisible: zero-width joiners, bidi marks), surrogate, private-use and
# unassigned characters, and line or paragraph separators: nothing a person can read or type.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# The package writes right-to-left characters between left-to-right marks for display.
_DISPLAY_MARKS = str.maketrans("", "", "\u200e\u200f")


class UsernameError(ValueError):
    """A username that cannot be anyone's; the message says why."""

    field = "username"


def normalise(raw: str) -> str:
    """The one form a username is stored and looked up in; UsernameError when there is none."""
    name = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold()).strip()
    if not name:
        raise UsernameError("username must not be empty or only spaces")
    refused = next((c for c in name if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if refused is not None:
        raise UsernameError(f"username must not contain control or invisible characters (U+{ord(refused):04X})")
    other_space = next((c for c in name if c.isspace() and c != " "), None)
    if other_space is not None:
        raise UsernameError(f"username may hold plain spaces only, not U+{ord(other_space):04X}")
    if "  " in name:
        raise UsernameError("username must not hold two spaces in a row")
    if len(name) > MAX_LENGTH:
        raise UsernameError(f"username must be at most {MAX_LENGTH} characters")
    return name


def skeleton(name: str) -> str:
    """UTS #39's skeleton of `name`: equal for usernames that look alike. Internal only,
    never shown (it mixes scripts)."""
    table = _prototypes()
    text = unicodedata.normalize("NFD", name)
    for _ in range(8):  # a prototype's own characters may map once more; it settles at once
        mapped = unicodedata.normalize("NFD", "".join(table.get(c, c) for c in text))
        if mapped == text:
            break
        text = mapped
    return text


def looks_alike(a: str, b: str) -> bool:
    return skeleton(normalise(a)) == skeleton(normalise(b))


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> the prototype it maps to (read once, on first use)."""
    from confusable_homoglyphs.confusables import confusables_data

    partners = {
        key.translate(_DISPLAY_MARKS): [entry["c"].translate(_DISPLAY_MARKS) for entry in entries]
        for key, entries in confusables_data.items()
    }
    table: dict[str, str] = {}
    for char, around in partners.items():
        if len(char) != 1 or len(around) != 1:
            continue  # a prototype: several characters map to it, or it is a sequence
        partner = around[0]
        if len(partner) > 1 or len(partners.get(partner, ())) > 1:
            table[char] = partner
        else:
            table[char] = min(char, partner)
    return table
