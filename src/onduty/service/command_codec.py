"""Commands as JSON: what the command log holds, so that followers apply what the owner did.

Each command is a plain object of its fields with its class name under `type`:
`{"type": "SetStatus", "agent_id": 7, "state": "active", "reason": null, "actor":
{"kind": "agent", "id": 7, "why": null}}`. Enums travel as their values, `Actor` as an
object; decoding converts back through the dataclasses' own annotations (msgspec), so
a round trip gives an equal command, field types included (an int stays an int, a
float a float). A command class that this module cannot name fails at import.

A command applied under an idempotency key (a request that may be retried: forwarded
between instances, or a client's `Idempotency-Key`) carries it under `key`, so that
whoever applies the log next, a follower that takes over included, knows it was applied.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
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
    fields.pop("key", None)
    name = fields.pop("type", None)
    cls = COMMAND_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CommandDecodeError(f"unknown command type {name!r}")
    try:
        command: c.Command = msgspec.convert(fields, cls)
    except msgspec.ValidationError as error:
        raise CommandDecodeError(f"{name}: {error}") from None
    return command


def encode_batch(commands: Iterable[c.Command], keys: Sequence[str | None] = ()) -> str:
    """A batch's applied commands, in order, as JSON text (the `command_log.commands` column);
    `keys[i]`, when given and not None, is the idempotency key command i was applied under."""
    items = [to_dict(command) for command in commands]
    for item, key in zip(items, keys, strict=False):
        if key is not None:
            item["key"] = key
    return _encoder.encode(items).decode()


def decode_batch(data: str | bytes | list[dict[str, Any]]) -> list[c.Command]:
    """A batch's commands from JSON text, or from the list a JSON column already decoded."""
    return [command for command, _ in decode_keyed_batch(data)]


def decode_keyed_batch(data: str | bytes | list[dict[str, Any]]) -> list[tuple[c.Command, str | None]]:
    """A batch's commands, each with the idempotency key it was applied under (or None)."""
    items = _decoder.decode(data) if isinstance(data, str | bytes) else data
    if not isinstance(items, list):
        raise CommandDecodeError("a logged batch is a list of commands")
    keyed = []
    for item in items:
        if not isinstance(item, dict):
            raise CommandDecodeError(f"a logged command is an object, not {item!r}")
        key = item.get("key")
        if key is not None and not isinstance(key, str):
            raise CommandDecodeError(f"an idempotency key is text, not {key!r}")
        keyed.append((from_dict(item), key))
    return keyed
