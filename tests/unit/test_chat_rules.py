"""C1's pure rules (domain/chat.py, handlers/chat.py): conversation ids, who belongs where,
a message's text, and the numbering of messages."""

from __future__ import annotations

import pytest

from onduty.domain import chat
from onduty.domain import commands as c
from onduty.domain.engine import Engine
from onduty.domain.errors import DomainError, NotFound
from onduty.domain.events import ChatMessageSent, ChatRead
from onduty.domain.restore import restore, take_snapshot


def test_c1_a_direct_conversation_is_its_two_people_whichever_writes_first() -> None:
    assert chat.direct(17, 3) == chat.direct(3, 17) == chat.Direct(3, 17)
    assert chat.direct(17, 3).id == "d3-17"
    assert chat.parse("d3-17") == chat.Direct(3, 17)
    assert chat.Direct(3, 17).other(3) == 17 and chat.Direct(3, 17).other(17) == 3
    with pytest.raises(DomainError) as refused:
        chat.direct(5, 5)
    assert refused.value.field == "to_user_id"


@pytest.mark.parametrize("team", ["support", "Billing & Co", "équipe/ nuit", "支援", "a" * 80])
def test_c1_a_room_id_names_its_team_whatever_it_is_called_and_is_safe_in_a_url(team: str) -> None:
    room_id = chat.Room(team).id
    assert room_id.startswith("t-") and all(ch.isalnum() or ch in "-_" for ch in room_id)
    assert len(room_id) <= chat.MAX_CONVERSATION_ID
    assert chat.parse(room_id) == chat.Room(team)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x",
        "d3",
        "d3-3",
        "d17-3",
        "d0-3",
        "d03-17",
        "d-3-17",
        "d3-17x",
        "d٣-17",
        "t-",
        "t-!!",
        "t-c3VwcG9ydA==",
        7,
        None,
    ],
)
def test_c1_an_id_that_names_no_conversation_is_not_found(bad: object) -> None:
    with pytest.raises(NotFound) as refused:
        chat.parse(bad)
    assert refused.value.field == "conversation_id"


def test_c1_who_is_in_a_conversation() -> None:
    pair, room = chat.Direct(3, 17), chat.Room("support")
    assert chat.is_member(pair, 3, "agent", "support") and chat.is_member(pair, 17, "supervisor", "billing")
    assert not chat.is_member(pair, 4, "admin", None)  # a direct conversation is its two people's alone
    assert chat.is_member(room, 4, "agent", "support") and chat.is_member(room, 5, "supervisor", "support")
    assert not chat.is_member(room, 6, "agent", "billing")
    assert chat.is_member(room, 7, "admin", None)  # admins may join any room
    assert not chat.is_member(room, 8, "integration", "support")
    assert not chat.is_member(pair, 3, "integration", None)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "a\x00b", "x" * 4001])
def test_c1_a_message_is_not_blank_nor_longer_than_4000_characters(text: str) -> None:
    with pytest.raises(DomainError) as refused:
        chat.text(text)
    assert refused.value.field == "text"


def test_c1_text_is_kept_as_typed() -> None:
    for text in ["x" * 4000, "  spaced  ", "<b>not html</b>", "line\nline"]:
        assert chat.text(text) == text


def test_c1_messages_are_numbered_by_the_engine_and_the_number_survives_a_restart() -> None:
    engine = Engine()
    first = engine.handle(c.SendChatMessage("d3-17", 3, "hello", None, sender_name="Ann"), 10.0)
    second = engine.handle(c.SendChatMessage(chat.Room("support").id, 17, "team", 42), 11.0)
    assert [type(e) for e in first + second] == [ChatMessageSent, ChatMessageSent]
    assert [e.message_id for e in first + second] == [1, 2]  # type: ignore[attr-defined]
    assert second[0].about_thread == 42  # type: ignore[attr-defined]
    [read] = engine.handle(c.MarkChatRead("d3-17", 17, 1), 12.0)
    assert read == ChatRead(12.0, "d3-17", 17, 1)
    again = restore(take_snapshot(engine))
    [third] = again.handle(c.SendChatMessage("d3-17", 17, "after", None), 13.0)
    assert third.message_id == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize("up_to", [0, -1, 3, True, 1.0])
def test_c1_a_read_mark_names_a_message(up_to: object) -> None:
    engine = Engine()
    engine.handle(c.SendChatMessage("d3-17", 3, "one", None), 1.0)
    engine.handle(c.SendChatMessage("d3-17", 3, "two", None), 2.0)
    with pytest.raises(DomainError) as refused:
        engine.handle(c.MarkChatRead("d3-17", 17, up_to), 3.0)  # type: ignore[arg-type]
    assert refused.value.field == "up_to"
