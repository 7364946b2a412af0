"""S8 with several instances, in the database (SQLite and PostgreSQL): where each agent's
streams are open (`agents.connected_on`) is written with their row and comes back in the
engine rebuilt from it, so that a follower started mid-run equals the owner; rows written
by a version that knew only `connected` come back as the one instance of a service alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from onduty.domain import commands as c
from onduty.domain.restore import restore
from onduty.storage import schema as t
from onduty.storage.database import Database
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore
from tests.integration.test_store_contract import Recorder


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SqlStore]:
    store = SqlStore(database)
    yield store
    await store.close()


async def agents(store: SqlStore, n: int) -> list[int]:
    users = UserStore(store)
    made = [
        await users.create(username=f"a{i}", name=f"A{i}", role="agent", team=None, password_hash=None, now=0)
        for i in range(n)
    ]
    return [user.id for user in made]


async def stored(store: SqlStore) -> dict[int, tuple[bool, Any]]:
    """Each agent's row: (connected, connected_on as JSON data)."""
    rows = await store.fetch(select(t.agents.c.id, t.agents.c.connected, t.agents.c.connected_on))
    return {r.id: (bool(r.connected), r.connected_on) for r in rows}


async def test_s8_where_each_agent_is_connected_comes_back_as_committed(store: SqlStore) -> None:
    """Changes with an event (the first instance, the last one closed) and without one (a second
    instance, one of two closed, one of two dropped) are all written with the agent's row."""
    rec = Recorder(store)
    one, two, three, four = await agents(store, 4)
    await rec.do(*(c.RegisterAgent(a, "team", None) for a in (one, two, three, four)))
    await rec.do(*(c.Login(a) for a in (one, two, three, four)))
    await rec.do(c.Connect(one, "b"), c.Connect(two, "a"))
    await rec.comes_back()
    await rec.do(c.Connect(one, "a"))  # connected already: no event, but the row changes
    assert (await stored(store))[one] == (True, ["a", "b"])  # sorted, whatever the order of arrival
    await rec.comes_back()
    await rec.do(c.Connect(two, "b"), c.Connect(three, "b"), c.Connect(four))
    await rec.do(c.Disconnect(one, "a"))  # still on b: no event
    assert (await stored(store))[one] == (True, ["b"])
    await rec.comes_back()

    await rec.do(c.DropInstance("b"))  # one and three had b alone; two keeps a
    assert await stored(store) == {one: (False, []), two: (True, ["a"]), three: (False, []), four: (True, [""])}
    await rec.comes_back()
    loaded = restore(await store.load_snapshot(rec.now))
    assert loaded.workspace.connected_instances() == {"a", ""}
    assert loaded.workspace.agents_on_instance == rec.engine.workspace.agents_on_instance

    rec.now += 10
    await rec.do(c.ResetConnections())
    assert {connected for connected, _ in (await stored(store)).values()} == {False}
    await rec.comes_back()


async def test_s8_a_row_written_before_instances_were_named_comes_back_on_the_one_instance(store: SqlStore) -> None:
    """`connected` decides whether there are any: an agent connected with no instance named is
    connected on "", and one not connected is nowhere whatever instances a newer version left."""
    rec = Recorder(store)
    one, two = await agents(store, 2)
    await rec.do(c.RegisterAgent(one, "team", None), c.RegisterAgent(two, "team", None))
    await rec.do(c.Login(one), c.Login(two), c.Connect(one, "a"), c.Connect(two, "b"))
    async with store.writer.begin() as conn:  # as the older version writes: `connected` alone
        await conn.execute(update(t.agents).where(t.agents.c.id == one).values(connected_on=None))
        await conn.execute(update(t.agents).where(t.agents.c.id == two).values(connected=False))
    engine = restore(await store.load_snapshot(rec.now))
    ws = engine.workspace
    assert ws.agents[one].connected_on == {""} and ws.agents[two].connected_on == frozenset()
    assert ws.connected_instances() == {""}
    events = engine.handle(c.Disconnect(one), rec.now + 1)  # the service alone closes its last stream
    assert [e.name for e in events] == ["agent.disconnected"]
    assert not ws.agents[one].connected
