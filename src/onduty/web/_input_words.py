"""Bad input said in people's words, every invalid field of a body at once.

msgspec stops at the first problem and says it in its type system's terms ("Expected `str`
of length >= 1 - at `$.label`"). People read these messages, on the pages and in scripts'
logs, so the API says "label must not be empty" instead, and for a body it lists every
field that is wrong, so that a form marks them all in one go. Every decoding error of the
API (bodies, query and path parameters) is said here, in one place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
import msgspec.inspect as mi


class Problem(NamedTuple):
    """One invalid field: its name in the request (the top-level one: `on_disconnect` for a
    problem inside it), and what is wrong with it in words."""

    field: str | None
    message: str


_NOTHING: Any = object()  # the value is not known (a query parameter's text, say)
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.(\w+)|\[[^\]]*\]")
_LENGTH = re.compile(r"^Expected `(?P<kind>[^`]*)` of length (?P<op>[<>]=?) (?P<n>\d+)$")
_BOUND = re.compile(r"^Expected `(?:int|float)` (?P<op>[<>]=?) (?P<n>\S+)$")
_GOT = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+)$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")

# msgspec's names of JSON's kinds, as people call them.
_KINDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "object": "an object",
    "array": "a list",
}


def body_problems(
    kind: type[msgspec.Struct],
    document: Any,
    error: msgspec.ValidationError,
    rules: Callable[[dict[str, Any]], list[Problem]] | None = None,
) -> list[Problem]:
    """Every invalid field of `document` (a body's JSON, as plain values) for the input struct
    `kind`, which refused it with `error` (its first problem): fields of the wrong type or out
    of bounds, required ones missing, unknown ones, and, with `rules`, the fields of the right
    type that break the rules `rules` checks (in the order of the struct's fields)."""
    info = mi.type_info(kind)
    if not isinstance(document, dict):
        return [in_words(str(error), info=info, value=document)]
    problems: list[Problem] = []
    passed: dict[str, Any] = {}
    for field in msgspec.structs.fields(kind):
        name = field.encode_name
        if name not in document:
            if field.required:
                problems.append(Problem(name, f"{name} is required"))
            continue
        try:
            msgspec.convert(document[name], field.type)
        except msgspec.ValidationError as refused:
            problems.append(in_words(str(refused), path=[name], info=mi.type_info(field.type), value=document[name]))
        else:
            passed[name] = document[name]
    if rules is not None:
        problems.extend(rules(passed))
    if isinstance(info, mi.StructType):
        order = {field.encode_name: i for i, field in enumerate(info.fields)}
        problems.sort(key=lambda p: order.get(p.field or "", len(order)))
        problems.extend(Problem(name, _unknown(info, [], name)) for name in document if name not in order)
    return problems or [in_words(str(error), info=info, value=document)]


def in_words(message: str, *, path: list[str] | None = None, info: Any = None, value: Any = _NOTHING) -> Problem:
    """msgspec's `message` in words. `path`: the names leading to what was checked (a body's
    field, a query parameter); `info`: its type (msgspec.inspect), when known, for the whole
    rule (both bounds, the allowed values); `value`: what was sent, when known."""
    found = _AT.match(message)
    what = found["what"] if found else message
    names = list(path or [])
    for step in _STEP.finditer((found["path"] if found else None) or ""):
        name = step.group(1)
        info = _inner(info, name)
        value = value.get(name, _NOTHING) if name and isinstance(value, dict) else _NOTHING
        names.append(name or "item")
    subject = _name(names)
    if missing := _MISSING.match(what):
        return _problem([*names, missing["name"]], f"{_name([*names, missing['name']])} is required")
    if unknown := _UNKNOWN.match(what):
        struct = _unwrap(info)
        text = _unknown(struct, names, unknown["name"]) if isinstance(struct, mi.StructType) else None
        return _problem([*names, unknown["name"]], text or f"{_name([*names, unknown['name']])} is not a field here")
    if length := _LENGTH.match(what):
        return _problem(names, _length(subject, length["op"], int(length["n"]), length["kind"]))
    if bound := _BOUND.match(what):
        rule = _describe(_unwrap(info)) if info is not None else None
        return _problem(names, f"{subject} must be {rule or _bound(bound['op'], bound['n'])}")
    if got := _GOT.match(what):
        if not names:
            body = _kinds(got["expected"]).replace("an object", "a JSON object")
            return _problem(names, f"the body must be {body}, not {_KINDS.get(got['got'], 'that')}")
        rule = _describe(info) if info is not None else _kinds(got["expected"])
        return _problem(names, f"{subject} must be {rule}{_not(value)}")
    if enum := _ENUM.match(what):
        sent = enum["value"] if value is _NOTHING else msgspec.json.encode(value).decode()
        rule = _describe(info) if info is not None else None
        return _problem(names, f"{subject} must be {rule}, not {sent}" if rule else f"{subject} cannot be {sent}")
    if what == "Number out of range":
        return _problem(names, f"{subject or 'a number in the body'} is too large a number")
    return _problem(names, f"{subject or 'the body'} is not valid here")


def _problem(names: list[str], message: str) -> Problem:
    return Problem(names[0] if names else None, message)


def _name(names: list[str]) -> str:
    return ".".join(names)


def _unknown(info: mi.StructType, path: list[str], name: str) -> str:
    where = f"of {_name(path)}" if path else "of this request"
    takes = ", ".join(field.encode_name for field in info.fields)
    return f"{_name([*path, name])} is not a field {where}; it takes {takes}"


def _length(subject: str, op: str, n: int, kind: str) -> str:
    units = "characters long" if kind == "str" else "items"  # text, or a list
    if op.startswith(">"):
        return f"{subject} must not be empty" if n <= 1 else f"{subject} must be at least {n:,} {units}"
    return f"{subject} must be at most {n:,} {units}"


def _bound(op: str, n: str) -> str:
    words = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
    return f"{words[op]} {_number(float(n))}"


def _inner(info: Any, name: str | None) -> Any:
    """The type of field `name` within `info` (an object's), if there is one."""
    struct = _unwrap(info)
    if name is None or not isinstance(struct, mi.StructType):
        return None
    return next((field.type for field in struct.fields if field.encode_name == name), None)


def _unwrap(info: Any) -> Any:
    """The type itself: its bounds without the documentation, an object among `object | null`."""
    if isinstance(info, mi.Metadata):
        return _unwrap(info.type)
    if isinstance(info, mi.UnionType):
        members = [member for member in info.types if not isinstance(member, mi.NoneType)]
        return _unwrap(members[0]) if len(members) == 1 else info
    return info


def _describe(info: Any) -> str:
    """What a value of type `info` must be, in words: "a whole number from 1 to 1,000"."""
    info = info.type if isinstance(info, mi.Metadata) else info
    if isinstance(info, mi.UnionType):
        # null, where taken, leaves a setting as it is or turns it off: not what was meant.
        members = [m for m in info.types if not isinstance(m, mi.NoneType)] or list(info.types)
        return " or ".join(_describe(member) for member in members)
    if isinstance(info, mi.LiteralType):
        return "one of: " + ", ".join(str(value) for value in info.values)
    if isinstance(info, mi.IntType | mi.FloatType):
        kind = "a whole number" if isinstance(info, mi.IntType) else "a number"
        low = info.ge if info.ge is not None else info.gt
        high = info.le if info.le is not None else info.lt
        if low is not None and high is not None:
            return f"{kind} from {_number(low)} to {_number(high)}"
        if low is not None:
            return f"{kind} of {'at least' if info.ge is not None else 'more than'} {_number(low)}"
        if high is not None:
            return f"{kind} of {'at most' if info.le is not None else 'less than'} {_number(high)}"
        return kind
    if isinstance(info, mi.StrType):
        return "text"
    if isinstance(info, mi.BoolType):
        return "true or false"
    if isinstance(info, mi.NoneType):
        return "null"
    if isinstance(info, mi.StructType | mi.DictType | mi.TypedDictType | mi.DataclassType):
        return "an object"
    if isinstance(info, mi.ListType | mi.TupleType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return "a list"
    return "another kind of value"


def _kinds(expected: str) -> str:
    parts = [part.strip() for part in expected.split("|")]
    parts = [part for part in parts if part != "null"] or parts  # as in _describe
    return " or ".join(_KINDS.get(part, part) for part in parts)


def _not(value: Any) -> str:
    """ ", not <what was sent>": the value itself when it is short."""
    if value is _NOTHING:
        return ""
    if isinstance(value, dict):
        return ", not an object"
    if isinstance(value, list):
        return ", not a list"
    shown = msgspec.json.encode(value).decode()
    return f", not {shown}" if len(shown) <= 40 else f", not {_KINDS.get(type(value).__name__, 'that')}"


def _number(n: float) -> str:
    if isinstance(n, float) and not math.isfinite(n):
        return str(n)
    return f"{n:,}" if isinstance(n, int) or not float(n).is_integer() else f"{int(n):,}"
