"""The command log's codec: every command survives JSON exactly (the follower applies what
the owner applied, so a command that came back different would be a different command)."""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
from hypothesis import settings

from onduty.domain import commands as c
from onduty.domain.engine import HANDLERS
from onduty.domain.types import Actor, State
from onduty.service.command_codec import (
    COMMAND_CLASSES,
    CommandDecodeError,
    decode_batch,
    encode_batch,
    from_dict,
    to_dict,
)
from tests.unit.test_engine_state_machine import EngineMachine

ONE_OF_EACH: list[c.Command] = [
    c.RegisterAgent(7, "team-a", None, name="Ann Élise", username="ann"),
    c.RegisterAgent(8, "team-b", 4),
    c.ChangeAgent(7, team="team-c", capacity=2),
    c.ChangeAgent(7, reset_capacity=True),
    c.Login(7),
    c.Logout(7, Actor.supervisor(100)),
    c.SetStatus(7, State.INACTIVE, "lunch", Actor.agent(7)),
    c.SetStatus(7, State.ACTIVE, None, Actor.admin(1)),
    c.DecideApproval(3, True, Actor.supervisor(100)),
    c.ContinueWorking(7),
    c.Connect(7),
    c.Disconnect(7),
    c.Connect(7, "host-b:8000#2"),
    c.Disconnect(7, "host-b:8000#2"),
    c.DropInstance("host-b:8000#2"),
    c.ResetConnections(),
    c.ReportInput(7),
    c.ReceiveClientMessage("client-1", 'héllo \u2028 "quoted"', -3),
    c.Answer(12, 7, "on it"),
    c.CloseThread(12, Actor.system("test")),
    c.Transfer(12, 8, Actor.agent(7)),
    c.PinMessage(12, 40, 7, False, None),
    c.PinMessage(12, 40, 7, True, 12),
    c.AddReason("coaching", "Coaching", requires_approval=True),
    c.ChangeReason("coaching", label=None, requires_approval=False),
    c.RetireReason("coaching"),
    c.SendChatMessage("d3-17", 3, "can you take this one? <b>é</b>", 12, sender_name="Ana"),
    c.SendChatMessage("t-QmlsbGluZw", 17, "back from lunch"),
    c.MarkChatRead("d3-17", 17, 40),
    c.ChangeSettings(
        {
            "response_timeout": 60.0,
            "default_capacity": 3,
            "disconnect_grace": None,
            "strategy": "round_robin",
            "on_disconnect": {"state": "inactive", "reason": "away"},
            "prompt_timeout": 0.1 + 0.2,  # not a short decimal: its repr must come back exactly
        }
    ),
]


def exact(command: c.Command) -> None:
    """Equal, and equal in every field's type (60 and 60.0 are equal, but not the same setting)."""
    [back] = decode_batch(encode_batch([command]))
    assert back == command
    assert type(back) is type(command)
    for field in dataclasses.fields(command):
        mine, theirs = getattr(command, field.name), getattr(back, field.name)
        assert type(theirs) is type(mine), f"{type(command).__name__}.{field.name}"
        if isinstance(mine, dict):
            assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)
            assert [type(v) for v in mine.values()] == [type(v) for v in theirs.values()]


def test_one_command_of_each_class_comes_back_exactly() -> None:
    for command in ONE_OF_EACH:
        exact(command)
        assert to_dict(command)["type"] == type(command).__name__
        assert from_dict(json.loads(json.dumps(to_dict(command)))) == command  # through any JSON


def test_every_command_class_is_known_to_the_codec_and_has_an_example_here() -> None:
    """A new command class fails here until the codec names it and an example above shows it
    comes back exactly."""
    defined = {
        cls
        for _, cls in inspect.getmembers(c, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == c.__name__
    }
    assert defined == set(COMMAND_CLASSES.values()) == set(HANDLERS)
    assert {type(command) for command in ONE_OF_EACH} == defined


def test_a_batch_keeps_its_order() -> None:
    assert decode_batch(encode_batch(ONE_OF_EACH)) == ONE_OF_EACH
    assert decode_batch(json.loads(encode_batch(ONE_OF_EACH))) == ONE_OF_EACH  # as a JSON column gives it
    assert decode_batch("[]") == []


class CodecMachine(EngineMachine):
    """The engine state machine, with every command it draws sent through the codec first."""

    def apply(self, command: c.Command) -> None:
        exact(command)
        super().apply(command)


TestEveryCommandTheStateMachineDraws = CodecMachine.TestCase
TestEveryCommandTheStateMachineDraws.settings = settings(max_examples=30, stateful_step_count=40, deadline=None)


def test_an_unreadable_logged_command_is_refused_by_name() -> None:
    with pytest.raises(CommandDecodeError, match="unknown command type 'Teleport'"):
        decode_batch('[{"type": "Teleport", "agent_id": 1}]')
    with pytest.raises(CommandDecodeError, match="Login"):
        decode_batch('[{"type": "Login", "agent_id": "seven"}]')


def test_s8_connections_logged_before_instances_decode_as_the_one_instance() -> None:
    """A command log written by a version that knew no instances: its Connect and Disconnect
    name none, and mean the one instance of a service alone ("")."""
    assert decode_batch('[{"type": "Connect", "agent_id": 7}, {"type": "Disconnect", "agent_id": 7}]') == [
        c.Connect(7, ""),
        c.Disconnect(7, ""),
    ]
    assert to_dict(c.Connect(7, "b")) == {"type": "Connect", "agent_id": 7, "instance": "b"}
    assert to_dict(c.DropInstance("b")) == {"type": "DropInstance", "instance": "b"}
    with pytest.raises(CommandDecodeError, match="DropInstance"):
        decode_batch('[{"type": "DropInstance"}]')
