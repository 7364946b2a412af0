"""C1 internal chat through the API, on SQLite and PostgreSQL: direct conversations and team
rooms, history newest first, read marks and unread counts, who may read what, the
consultation pointer, bad input, and the chat's events on the live and resumed stream."""

from __future__ import annotations

from typing import Any

from onduty.domain.chat import Room
from tests.integration.api_client import Api, Person
from tests.integration.flows import client_says, set_status
from tests.integration.test_events_ws import stream


async def send(api: Api, who: Person, body: dict[str, Any], expect: int = 201) -> Any:
    return await api.json(who, "POST", "/chat/messages", body, expect=expect)


async def conversations(api: Api, who: Person) -> dict[str, dict[str, Any]]:
    listed = await api.json(who, "GET", "/chat/conversations", expect=200)
    return {c["id"]: c for c in listed}


async def history(api: Api, who: Person, conversation_id: str, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = await api.json(
        who, "GET", f"/chat/conversations/{conversation_id}/messages", params=params or None, expect=200
    )
    return found


def room(team: str) -> str:
    return Room(team).id


async def test_c1_direct_conversation_opens_with_its_first_message_and_reads_newest_first(api: Api) -> None:
    ana, ben = await api.person("agent"), await api.person("agent")
    first = await send(api, ana, {"to_user_id": ben.id, "text": "can you take this one?"})
    conversation_id = first["conversation_id"]
    assert first["sender_id"] == ana.id and first["sender_name"] == ana.username
    assert (first["text"], first["thread"]) == ("can you take this one?", None)
    # The same conversation whichever way it is named, and from whichever side.
    second = await send(api, ben, {"to_user_id": ana.id, "text": "yes"})
    third = await send(api, ana, {"conversation_id": conversation_id, "text": "thanks"})
    assert second["conversation_id"] == third["conversation_id"] == conversation_id
    assert first["id"] < second["id"] < third["id"]

    page = await history(api, ben, conversation_id, limit=2)
    assert [m["text"] for m in page["items"]] == ["thanks", "yes"]  # newest first
    assert page["next"] == second["id"]
    rest = await history(api, ben, conversation_id, limit=2, before=page["next"])
    assert [m["text"] for m in rest["items"]] == ["can you take this one?"]
    assert rest["next"] is None

    mine = (await conversations(api, ana))[conversation_id]
    assert mine["kind"] == "direct" and mine["title"] == ben.username and mine["team"] is None
    assert {m["user_id"] for m in mine["members"]} == {ana.id, ben.id}
    assert mine["last_message"]["id"] == third["id"]
    assert mine["unread"] == 0  # one's own messages are read; ben's "yes" is the only other
    theirs = (await conversations(api, ben))[conversation_id]
    assert theirs["unread"] == 1  # "thanks": writing "yes" read what came before it


async def test_c1_read_marks_count_down_the_unread_and_never_move_back(api: Api) -> None:
    ana, ben = await api.person("agent"), await api.person("agent")
    sent = [await send(api, ana, {"to_user_id": ben.id, "text": f"note {i}"}) for i in range(3)]
    conversation_id = sent[0]["conversation_id"]
    assert (await conversations(api, ben))[conversation_id]["unread"] == 3
    path = f"/chat/conversations/{conversation_id}/read"
    state = await api.json(ben, "POST", path, {"up_to": sent[1]["id"]}, expect=200)
    assert state == {"conversation_id": conversation_id, "up_to": sent[1]["id"], "unread": 1}
    older = await api.json(ben, "POST", path, {"up_to": sent[0]["id"]}, expect=200)
    assert older["up_to"] == sent[1]["id"] and older["unread"] == 1  # a mark never goes back
    await api.json(ben, "POST", path, {"up_to": sent[2]["id"]}, expect=200)
    listed = (await conversations(api, ben))[conversation_id]
    assert (listed["unread"], listed["up_to"]) == (0, sent[2]["id"])
    # Only the reader's own count moves.
    assert (await conversations(api, ana))[conversation_id]["unread"] == 0

    beyond = await api.call(ben, "POST", path, {"up_to": sent[2]["id"] + 1000}, expect=400)
    assert api.error(beyond)["field"] == "up_to"
    zero = await api.call(ben, "POST", path, {"up_to": 0}, expect=400)
    assert api.error(zero)["field"] == "up_to"


async def test_c1_team_room_is_its_agents_and_supervisors_and_any_admin_who_joins(api: Api) -> None:
    ana = await api.person("agent", team="support")
    boss = await api.person("supervisor", team="support")
    other = await api.person("agent", team="billing")
    support = room("support")
    # The room is listed before anybody wrote in it.
    listed = (await conversations(api, ana))[support]
    assert (listed["kind"], listed["title"], listed["unread"], listed["last_message"]) == ("team", "support", 0, None)
    assert {ana.id, boss.id} <= {m["user_id"] for m in listed["members"]}
    assert other.id not in {m["user_id"] for m in listed["members"]}

    hello = await send(api, ana, {"conversation_id": support, "text": "back from lunch"})
    assert (await conversations(api, boss))[support]["unread"] == 1
    await send(api, boss, {"conversation_id": support, "text": "welcome back"})
    assert [m["text"] for m in (await history(api, ana, support))["items"]] == ["welcome back", "back from lunch"]

    # Another team's agent neither reads nor writes there, nor sees it listed.
    assert support not in await conversations(api, other)
    refused = await api.call(other, "GET", f"/chat/conversations/{support}/messages", expect=403)
    assert api.error(refused)["field"] == "conversation_id"
    await api.call(other, "POST", "/chat/messages", {"conversation_id": support, "text": "hi"}, expect=403)
    await api.call(other, "POST", f"/chat/conversations/{support}/read", {"up_to": hello["id"]}, expect=403)
    # Nor reads a direct conversation of two others.
    direct = (await send(api, ana, {"to_user_id": boss.id, "text": "private"}))["conversation_id"]
    await api.call(other, "GET", f"/chat/conversations/{direct}/messages", expect=403)

    # An admin may join any room: it is theirs once they have written or read there.
    assert support not in await conversations(api, api.admin)
    assert len((await history(api, api.admin, support))["items"]) == 2
    await send(api, api.admin, {"conversation_id": support, "text": "all good here?"})
    joined = (await conversations(api, api.admin))[support]
    assert api.admin.id in {m["user_id"] for m in joined["members"]}
    assert api.admin.id in {m["user_id"] for m in (await conversations(api, ana))[support]["members"]}


async def test_c1_every_name_carries_its_presence_and_status(api: Api) -> None:
    ana = await api.ready_agent()
    ben = await api.person("agent")
    boss = await api.person("supervisor")
    conversation_id = (await send(api, ben, {"to_user_id": ana.id, "text": "there?"}))["conversation_id"]
    members = {m["user_id"]: m for m in (await conversations(api, ben))[conversation_id]["members"]}
    assert (members[ana.id]["presence"], members[ana.id]["status"]["state"]) == ("online", "active")
    assert members[ben.id]["presence"] == "offline"
    await set_status(api, ana, "inactive", "lunch")
    members = {m["user_id"]: m for m in (await conversations(api, ben))[conversation_id]["members"]}
    assert members[ana.id]["presence"] == "away"
    assert members[ana.id]["status"]["label"] == "Lunch break"
    # Supervisors and admins have no status: their role stands in its place.
    people = {p["user_id"]: p for p in await api.json(ben, "GET", "/chat/people", params={"limit": 50}, expect=200)}
    assert people[boss.id]["role"] == "supervisor" and people[boss.id]["presence"] is None
    assert people[ana.id]["presence"] == "away" and ben.id not in people  # not oneself
    found = await api.json(ben, "GET", "/chat/people", params={"search": ana.username.upper()}, expect=200)
    assert [p["user_id"] for p in found] == [ana.id]


async def test_c1_a_consultation_opens_the_thread_only_for_those_who_may_see_it(api: Api) -> None:
    ana = await api.ready_agent(team="support")
    ben = await api.person("agent", team="support")
    boss = await api.person("supervisor", team="support")
    other_boss = await api.person("supervisor", team="billing")
    thread = await client_says(api, "client-consult", "my invoice is wrong")
    assert thread["agent_id"] == ana.id
    conversation_id = room("support")
    async with stream(api, ben) as live:
        asked = await send(
            api, ana, {"conversation_id": conversation_id, "text": "who knows billing?", "thread_id": thread["id"]}
        )
        [event] = [e for e in await live.until("chat.message") if e["name"] == "chat.message"]
    # The holder and their supervisor may open it; a colleague who does not hold it may not.
    assert asked["thread"] == {
        "visible": True,
        "id": thread["id"],
        "client_id": "client-consult",
        "state": "assigned",
        "agent_id": ana.id,
    }
    for who, visible in ((ana, True), (boss, True), (ben, False)):
        [message] = (await history(api, who, conversation_id))["items"]
        assert message["thread"]["visible"] is visible, who
        if not visible:
            assert message["thread"] == {
                "visible": False,
                "id": None,
                "client_id": None,
                "state": None,
                "agent_id": None,
            }
    # The live event says only that there is a thread: its id is not in it.
    assert event["data"]["about_thread"] is True
    assert set(event["data"]) == {"id", "conversation_id", "sender_id", "sender_name", "text", "at", "about_thread"}
    # A thread the sender may not open cannot be pointed to (nor be told to exist).
    direct = (await send(api, ana, {"to_user_id": other_boss.id, "text": "hello"}))["conversation_id"]
    refused = await api.call(
        other_boss, "POST", "/chat/messages", {"conversation_id": direct, "text": "this?", "thread_id": thread["id"]}
    )
    assert refused.status_code == 404 and api.error(refused)["field"] == "thread_id"
    missing = await api.call(
        ana, "POST", "/chat/messages", {"conversation_id": direct, "text": "?", "thread_id": 99999}
    )
    assert missing.status_code == 404
    assert len((await history(api, ana, direct))["items"]) == 1  # nothing was sent


async def test_c1_text_is_kept_as_text_and_bad_input_changes_nothing(api: Api) -> None:
    ana, ben = await api.person("agent"), await api.person("agent")
    integration = await api.person("integration")
    markup = '<img src=x onerror="alert(1)"> & <b>bold</b>'
    sent = await send(api, ana, {"to_user_id": ben.id, "text": markup})
    assert sent["text"] == markup
    conversation_id = sent["conversation_id"]
    assert (await history(api, ben, conversation_id))["items"][0]["text"] == markup
    longest = await send(api, ana, {"conversation_id": conversation_id, "text": "x" * 4000})
    assert len(longest["text"]) == 4000

    bad: list[tuple[Person, dict[str, Any], int, str | None]] = [
        (ana, {"to_user_id": ben.id, "text": ""}, 400, "text"),
        (ana, {"to_user_id": ben.id, "text": "  \n "}, 400, "text"),
        (ana, {"to_user_id": ben.id, "text": "x" * 4001}, 400, "text"),
        (ana, {"to_user_id": ben.id}, 400, "text"),
        (ana, {"text": "to nobody"}, 400, "conversation_id"),
        (ana, {"to_user_id": ben.id, "conversation_id": conversation_id, "text": "both"}, 400, "conversation_id"),
        (ana, {"to_user_id": ana.id, "text": "me"}, 400, "to_user_id"),
        (ana, {"to_user_id": 987654, "text": "ghost"}, 404, "to_user_id"),
        (ana, {"to_user_id": integration.id, "text": "bot"}, 404, "to_user_id"),
        (ana, {"conversation_id": "nonsense", "text": "hi"}, 404, "conversation_id"),
        (ana, {"conversation_id": "d1-1", "text": "hi"}, 404, "conversation_id"),
        (ana, {"conversation_id": "t-!!", "text": "hi"}, 404, "conversation_id"),
        (ana, {"conversation_id": f"d{ana.id}-987654", "text": "hi"}, 404, "conversation_id"),
        (ana, {"to_user_id": ben.id, "text": "hi", "colour": "red"}, 400, "colour"),
        (integration, {"to_user_id": ben.id, "text": "hi"}, 403, None),
    ]
    for who, body, status, field in bad:
        response = await api.call(who, "POST", "/chat/messages", body)
        assert response.status_code == status, (body, response.text)
        if field is not None:
            assert api.error(response)["field"] == field, (body, response.text)
    assert len((await history(api, ben, conversation_id))["items"]) == 2  # nothing more was kept
    for params in ({"limit": 0}, {"limit": 101}, {"before": 0}):
        response = await api.call(ana, "GET", f"/chat/conversations/{conversation_id}/messages", params=params)
        assert response.status_code == 400, (params, response.text)
    await api.call(integration, "GET", "/chat/conversations", expect=403)
    await api.call(None, "GET", "/chat/conversations", expect=401)
    empty = room("nobody-wrote-here")
    await api.call(api.admin, "POST", f"/chat/conversations/{empty}/read", {"up_to": 1}, expect=400)


async def test_c1_events_reach_only_their_people_live_and_when_resumed(api: Api) -> None:
    ana = await api.person("agent", team="support")
    ben = await api.person("agent", team="support")
    cat = await api.person("agent", team="support")
    dan = await api.person("agent", team="billing")
    boss = await api.person("supervisor", team="support")
    other_boss = await api.person("supervisor", team="billing")
    start = await api.store.last_event_id()
    direct = await send(api, ana, {"to_user_id": ben.id, "text": "just us"})
    in_room = await send(api, ana, {"conversation_id": room("support"), "text": "team, listen"})
    elsewhere = await send(api, dan, {"conversation_id": room("billing"), "text": "billing only"})
    read = await api.json(ben, "POST", f"/chat/conversations/{direct['conversation_id']}/read", {"up_to": direct["id"]})

    expected = {
        ana: [direct["id"], in_room["id"]],
        ben: [direct["id"], in_room["id"]],
        cat: [in_room["id"]],
        dan: [elsewhere["id"]],
        boss: [in_room["id"]],
        other_boss: [elsewhere["id"]],
        api.admin: [in_room["id"], elsewhere["id"]],  # any room is an admin's to join; no one's direct
    }
    for who, ids in expected.items():
        async with stream(api, who, after=start) as resumed:
            chat = [e for e in resumed.backlog if e["name"].startswith("chat.")]
        assert [e["data"]["id"] for e in chat if e["name"] == "chat.message"] == ids, who
        reads = [e["data"] for e in chat if e["name"] == "chat.read"]
        assert reads == (
            [{"conversation_id": read["conversation_id"], "user_id": ben.id, "up_to": direct["id"]}]
            if who is ben
            else []
        ), who
    # Live, the same rule: the room's message reaches its team, not another's.
    async with stream(api, cat) as catching, stream(api, dan) as other:
        live = await send(api, boss, {"conversation_id": room("support"), "text": "live"})
        seen = await catching.until("chat.message")
        assert seen[-1]["data"]["id"] == live["id"] and seen[-1]["data"]["sender_name"] == boss.username
        marker = await send(api, dan, {"conversation_id": room("billing"), "text": "mark"})
        theirs = await other.until("chat.message")
        assert [e["data"]["id"] for e in theirs if e["name"] == "chat.message"] == [marker["id"]]


async def test_c1_message_ids_go_on_after_a_restart(api: Api) -> None:
    ana, ben = await api.person("agent"), await api.person("agent")
    last = await send(api, ana, {"to_user_id": ben.id, "text": "before"})
    snapshot = await api.store.load_snapshot(api.clock.now())
    assert snapshot.next_chat_id == last["id"] + 1
