"""S8: each agent's open event streams in this process, told to the engine as commands.

The engine knows on which instances an agent has a stream open; this counts the
streams on this one (an agent may have several pages open) and sends `Connect` when the
first opens and `Disconnect` when the last closes, naming this instance, in the order
they happened (the service applies commands in the order they were given). Input
reports are passed on at most once per `INPUT_EVERY` seconds a stream, whatever a page
sends.

`reconcile` puts right what the engine holds for this instance when it differs from the
streams open here: a `Disconnect` that could not be recorded (the owner away), or this
instance's connections dropped by the owner while it lived (its heartbeat lapsed).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.domain.workspace import Workspace
from onduty.service.node import Node
from onduty.service.service import ServiceUnavailable

log = structlog.get_logger("onduty.connections")

# The pages report input at most once a minute (S8); this guards against one that says more.
INPUT_EVERY = 20.0
RECONCILE_EVERY = 5.0  # seconds


class AgentStreams:
    def __init__(self, node: Node) -> None:
        self._node = node
        self._open: dict[int, int] = {}
        # The first stream's Connect while it is being recorded: later streams wait for it, so
        # that none goes on as connected if it fails.
        self._connecting: dict[int, asyncio.Future[Any]] = {}

    def count(self, agent_id: int) -> int:
        return self._open.get(agent_id, 0)

    async def opened(self, agent_id: int) -> None:
        """A stream of this agent's opened. Raises ServiceUnavailable when the first could not
        be recorded: the caller closes the stream, and the page connects again."""
        count = self._open.get(agent_id, 0) + 1
        self._open[agent_id] = count
        try:
            recording = self._connecting.get(agent_id)
            if recording is None and count == 1:
                first: asyncio.Future[Any] = asyncio.ensure_future(
                    self._node.execute(c.Connect(agent_id, self._node.instance_id))
                )
                first.add_done_callback(lambda done: self._recorded(agent_id, done))
                self._connecting[agent_id] = recording = first
            if recording is not None:
                await asyncio.shield(recording)
        except BaseException:
            await self.closed(agent_id)
            raise

    def _recorded(self, agent_id: int, done: asyncio.Future[Any]) -> None:
        if self._connecting.get(agent_id) is done:
            del self._connecting[agent_id]
        if not done.cancelled():
            done.exception()  # retrieved: each opener that waited for it has raised it already

    async def closed(self, agent_id: int) -> None:
        count = self._open.get(agent_id, 0) - 1
        if count > 0:
            self._open[agent_id] = count
            return
        self._open.pop(agent_id, None)
        try:
            await self._node.execute(c.Disconnect(agent_id, self._node.instance_id))
        except (DomainError, ServiceUnavailable) as error:  # put right by `reconcile`
            log.warning("a disconnect could not be recorded", agent_id=agent_id, error=str(error))

    def forget(self, agent_id: int) -> None:
        """A stream closed by this server's own stop: counted off, nothing recorded."""
        count = self._open.get(agent_id, 0) - 1
        if count > 0:
            self._open[agent_id] = count
        else:
            self._open.pop(agent_id, None)

    async def input(self, agent_id: int) -> None:
        try:
            await self._node.execute(c.ReportInput(agent_id))
        except (DomainError, ServiceUnavailable) as error:
            log.warning("input could not be recorded", agent_id=agent_id, error=str(error))

    async def reconcile(self) -> int:
        """Tells the engine what differs from the streams open here: a Connect for an agent
        with a stream here that the engine does not know connected here, a Disconnect for
        one it believes connected here with none. Returns how many commands it sent."""
        here = self._node.instance_id
        open_here = {agent_id for agent_id in self._open if agent_id not in self._connecting}

        def differences(ws: Workspace) -> tuple[list[int], list[int]]:
            missing = [a for a in sorted(open_here) if a in ws.agents and here not in ws.agents[a].connected_on]
            stale = [a.id for a in ws.agents.values() if here in a.connected_on and a.id not in self._open]
            return missing, sorted(stale)

        missing, stale = await self._node.read(differences)
        sent = 0
        for agent_id in missing:
            if agent_id in self._open and agent_id not in self._connecting:
                sent += await self._tell(c.Connect(agent_id, here))
        for agent_id in stale:
            if agent_id not in self._open:
                sent += await self._tell(c.Disconnect(agent_id, here))
        if sent:
            log.info("connections put right", connects=len(missing), disconnects=len(stale))
        return sent

    async def keep_reconciled(self) -> None:
        """`reconcile` every RECONCILE_EVERY seconds, until cancelled."""
        while True:
            await asyncio.sleep(RECONCILE_EVERY)
            try:
                await self.reconcile()
            except (DomainError, ServiceUnavailable) as error:
                log.warning("connections not reconciled", error=str(error))

    async def _tell(self, command: c.Command) -> int:
        try:
            await self._node.execute(command)
        except DomainError as error:
            log.warning("a connection could not be put right", command=repr(command), error=str(error))
            return 0
        return 1
