"""Signing out takes effect on every instance: two instances of `onduty serve --redis` on one
PostgreSQL database (an owner and a follower, in this process). A token signed out on one
answers 401 on the other within a second or so, and that instance closes its streams of the
session with 4401; the same user's other session goes on there. An agent's team changed
through one instance shows in what the other says of them as soon. (rules.md, "API
extensions", POST /auth/logout; security.md, "Signing out".)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from onduty.service.clock import ManualClock
from onduty.service.node import Cluster
from onduty.storage.database import Database
from onduty.web.app import create_app
from tests.integration.api_client import Api, Person
from tests.integration.test_sign_out_streams import next_event, ready
from tests.redis_server import REDIS_URL, redis_problem, require
from tests.serve_process import free_port
from tests.task_report import tasks_text

# Two instances in this process: one worker takes every test of this kind (IN_PROCESS).
IN_PROCESS = "instances-in-process"
pytestmark = [pytest.mark.parametrize("database", ["postgresql"], indirect=True), pytest.mark.xdist_group(IN_PROCESS)]

TIMEOUT = 5.0
WITHIN = 2.0  # seconds a change on one instance may take to show on the other (it reads each second)
PASSWORD = "a long enough password"


class Instance:
    """`onduty serve --redis` in this process: the app joined to the others, under uvicorn on
    its own loopback port. (The machine's Redis is shared: each database has a channel of
    its own.)"""

    def __init__(self, db: Database) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        cluster = Cluster(REDIS_URL, f"test-{uuid.uuid4().hex[:8]}", f"http://{self.address}")
        self.app = create_app(db, cluster=cluster)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Up and serving, or a failure within START_SECONDS: never a suite that waits for ever."""
        self._task = asyncio.create_task(self.server.serve())
        try:
            async with asyncio.timeout(START_SECONDS):
                while not self.server.started:
                    if self._task.done():
                        self._task.result()
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise AssertionError(f"{self.address} did not start in {START_SECONDS} s\n{tasks_text()}") from None

    async def stop(self) -> None:
        """Stopped; an instance that never finished starting is cancelled (uvicorn looks at
        `should_exit` only once it serves), and one that does not stop within STOP_SECONDS
        too, so a failed start or stop fails its test, never hangs it."""
        self.server.should_exit = True
        if self._task is None:
            return
        if not self.server.started:
            self._task.cancel()
        done, _ = await asyncio.wait([self._task], timeout=STOP_SECONDS)
        if not done:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=STOP_SECONDS)
            raise AssertionError(f"the instance at {self.address} did not stop within {STOP_SECONDS} s")
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def role(self) -> str | None:
        async with httpx.AsyncClient() as http:
            role: str | None = (await http.get(f"http://{self.address}/healthz")).json().get("role")
            return role


START_SECONDS = 30
STOP_SECONDS = 20


@pytest.fixture
async def two(database: Database) -> AsyncIterator[tuple[Api, Api]]:
    """The owner's client and the follower's, each as the admin."""
    require(redis_problem())
    owner, follower = Instance(database), Instance(database)
    try:
        await owner.start()
        try:
            async with asyncio.timeout(10):
                while await owner.role() != "owner":
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"the first instance is not the owner within 10 s\n{tasks_text()}") from None
        await follower.start()
        async with Api(owner.address, owner.app, ManualClock()) as a:
            b = Api(follower.address, follower.app, ManualClock())
            b.openapi, b.admin = a.openapi, a.admin  # one admin, made on A
            try:
                yield a, b
            finally:
                await b.http.aclose()
    finally:  # a follower that failed to start is stopped too: nothing of it outlives the test
        await follower.stop()
        await owner.stop()


def events_url(api: Api, token: str) -> str:
    return f"ws://{api.address}/api/v1/events?token={token}"


async def closed_with(socket: ClientConnection) -> int:
    """The code the server closes this stream with; fails if an event arrives first."""
    try:
        event = await next_event(socket)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code
    pytest.fail(f"an event after sign-out: {event}")


async def status_changed(socket: ClientConnection, agent_id: int) -> None:
    while True:
        event = await next_event(socket)
        if event["name"] == "agent.status_changed" and event["data"]["agent_id"] == agent_id:
            return


async def answers(api: Api, who: Person, path: str) -> httpx.Response:
    return await api.http.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {who.token}"})


async def until_answered(api: Api, who: Person, status: int) -> float:
    """Asks `GET /me` as `who` until it answers `status`; how long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(WITHIN):
        while (await answers(api, who, "/me")).status_code != status:
            await asyncio.sleep(0.05)
    return loop.time() - started


async def test_a_token_signed_out_on_one_instance_stops_on_the_other_and_its_streams_close(
    two: tuple[Api, Api],
) -> None:
    a, b = two
    supervisor = await a.person("supervisor", team="a", password=PASSWORD)
    signed_in = await b.json(None, "POST", "/auth/token", {"username": supervisor.username, "password": PASSWORD})
    other = Person(supervisor.id, supervisor.username, "supervisor", signed_in["token"], "a")
    agent = await a.person("agent", team="a")
    await a.call(agent, "POST", "/me/login", expect=200)
    for who in (supervisor, other):
        await b.call(who, "GET", "/me", expect=200)  # B has both tokens in its cache now
    signed_out = await connect(events_url(b, supervisor.token), open_timeout=TIMEOUT)
    going_on = await connect(events_url(b, other.token), open_timeout=TIMEOUT)
    try:
        for socket in (signed_out, going_on):
            await ready(socket)

        await a.call(supervisor, "POST", "/auth/logout", expect=204)
        await a.call(supervisor, "GET", "/me", expect=401)  # on A at once
        await until_answered(b, supervisor, 401)
        assert await asyncio.wait_for(closed_with(signed_out), WITHIN) == 4401

        # The same person's other session, on B: its requests and its stream go on.
        await b.call(other, "GET", "/me", expect=200)
        await a.call(agent, "PUT", "/me/status", {"state": "inactive", "reason": "lunch"}, expect=200)
        await status_changed(going_on, agent.id)
        assert len(b.ctx.open_streams) == 1
    finally:
        for socket in (signed_out, going_on):
            await socket.close()


async def test_an_agents_team_changed_through_one_instance_shows_on_the_other(two: tuple[Api, Api]) -> None:
    """A cached token carries its user's team: the change drops it on every instance."""
    a, b = two
    agent = await a.person("agent", team="a")
    assert (await b.json(agent, "GET", "/me", expect=200))["team"] == "a"
    await b.call(b.admin, "PATCH", f"/agents/{agent.id}", {"team": "b"}, expect=200)  # run by the owner, A
    async with asyncio.timeout(WITHIN):
        while (await b.json(agent, "GET", "/me", expect=200))["team"] != "b":
            await asyncio.sleep(0.05)
