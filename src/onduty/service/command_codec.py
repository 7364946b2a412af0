"""Commands as JSON: what the command log holds, so that followers apply what the owner did.

Each command is a plain object of its fields with its class name under `type`:
`{"type": "SetStatus", "agent_id": 7, "state": "active", "reason": null, "actor":
{"kind": "agent", "id": 7, "why": null}}`. Enums travel as their values, `Actor` as an
object; decoding converts back through the dataclasses' own annotations (msgspec), so
a round trip gives an equal command, field types included (an int stays an int, a
float a float). A command class that this module cannot name fails at import.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any

import msgspec

from onduty.domain import commands as c

# Every command class, by name: the members of the `Command` union, so a new command is
# logged (and tested) as soon as it joins the union.
COMMAND_CLASSES: dict[str, type[Any]] = {cls.__name__: cls for cls in typing.get_args(c.Command)}
if len(COMMAND_CLASSES) != len(typing.get_args(c.Command)):
    raise ImportError("two command classes share a name: the command log could not tell them apart")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class CommandDecodeError(ValueError):
    """A logged command this version cannot read (unknown type, missing or wrong fields)."""


def to_dict(command: c.Command) -> dict[str, Any]:
    """The command as JSON-able data, with its class name."""
    fields: dict[str, Any] = msgspec.to_builtins(command)
    return {"type": type(command).__name__, **fields}


def from_dict(data: dict[str, Any]) -> c.Command:
    fields = dict(data)
    name = fields.pop("type", None)
    cls = COMMAND_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CommandDecodeError(f"unknown command type {name!r}")
    try:
        command: c.Command = msgspec.convert(fields, cls)
    except msgspec.ValidationError as error:
        raise CommandDecodeError(f"{name}: {error}") from None
    return command


def encode_batch(commands: Iterable[c.Command]) -> str:
    """A batch's applied commands, in order, as JSON text (the `command_log.commands` column)."""
    return _encoder.encode([to_dict(command) for command in commands]).decode()


def decode_batch(data: str | bytes | list[dict[str, Any]]) -> list[c.Command]:
    """A batch's commands from JSON text, or from the list a JSON column already decoded."""
    items = _decoder.decode(data) if isinstance(data, str | bytes) else data
    if not isinstance(items, list):
        raise CommandDecodeError("a logged batch is a list of commands")
    return [from_dict(item) for item in items]
