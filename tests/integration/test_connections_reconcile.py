"""S8, one instance's part: what the engine holds of this instance's streams is put right
when it differs from the streams open here (SQLite and PostgreSQL).

Two ways it can differ: a Disconnect that could not be recorded (the owner away), and this
instance's connections dropped by the owner while it lived on (its heartbeat lapsed for a
moment: `DropInstance`). `AgentStreams.reconcile` sends what is missing, naming this
instance; an agent with a stream open here is never left disconnected, and one with none
is never left connected."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from onduty.domain import commands as c
from onduty.domain.types import Actor, State
from onduty.service.clock import ManualClock
from onduty.service.connections import AgentStreams
from onduty.service.node import Node
from onduty.storage.database import Database
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore


@pytest.fixture
async def node(database: Database) -> AsyncIterator[Node]:
    store = SqlStore(database)
    node = Node(database, store, clock=ManualClock())
    await node.start()
    yield node
    await node.stop()
    await store.close()


async def active_agent(node: Node, username: str) -> int:
    assert node.service is not None
    user = await UserStore(node.store).create(
        username=username, name=username, role="agent", team=None, password_hash=None, now=0
    )
    await node.execute(c.RegisterAgent(user.id, "team", None, name=username, username=username))
    await node.execute(c.Login(user.id))
    await node.execute(c.SetStatus(user.id, State.ACTIVE, None, Actor.agent(user.id)))
    return user.id


async def connected_on(node: Node, agent_id: int) -> frozenset[str]:
    return await node.read(lambda ws: frozenset(ws.agents[agent_id].connected_on))


async def test_s8_a_stream_open_here_whose_connection_was_dropped_is_connected_again(node: Node) -> None:
    streams = AgentStreams(node)
    ann = await active_agent(node, "ann")
    await streams.opened(ann)
    assert await connected_on(node, ann) == {node.instance_id}
    await node.execute(c.DropInstance(node.instance_id))  # the owner thought this instance gone
    assert await connected_on(node, ann) == frozenset()
    assert await streams.reconcile() == 1
    assert await connected_on(node, ann) == {node.instance_id}
    assert await streams.reconcile() == 0  # nothing more to put right


async def test_s8_a_connection_here_with_no_stream_open_is_closed(node: Node) -> None:
    streams = AgentStreams(node)
    bob, cai = await active_agent(node, "bob"), await active_agent(node, "cai")
    # A Disconnect that never reached the engine: it still holds bob connected here.
    await node.execute(c.Connect(bob, node.instance_id))
    await node.execute(c.Connect(cai, "another-instance"))
    assert await streams.reconcile() == 1
    assert await connected_on(node, bob) == frozenset()
    grace = await node.read(lambda ws: ws.agents[bob].grace_deadline)
    assert grace is not None  # S8: the grace starts, as for any last stream closed
    assert await connected_on(node, cai) == {"another-instance"}  # not this instance's to say
