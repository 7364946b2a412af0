"""S8: each agent's open event streams in this process, told to the engine as commands.

The engine knows only whether an agent is connected; this counts the streams (an agent
may have several pages open) and sends `Connect` when the first opens and `Disconnect`
when the last closes, in the order they happened (the service applies commands in the
order they were given). Input reports are passed on at most once per `INPUT_EVERY`
seconds a stream, whatever a page sends.
"""

from __future__ import annotations

import structlog

from onduty.domain import commands as c
from onduty.domain.errors import DomainError
from onduty.service.service import Service, ServiceUnavailable

log = structlog.get_logger("onduty.connections")

# The pages report input at most once a minute (S8); this guards against one that says more.
INPUT_EVERY = 20.0


class AgentStreams:
    def __init__(self, service: Service) -> None:
        self._service = service
        self._open: dict[int, int] = {}

    def count(self, agent_id: int) -> int:
        return self._open.get(agent_id, 0)

    async def opened(self, agent_id: int) -> None:
        """A stream of this agent's opened. Raises ServiceUnavailable when the first could not
        be recorded: the caller closes the stream, and the page connects again."""
        count = self._open.get(agent_id, 0) + 1
        self._open[agent_id] = count
        if count == 1:
            try:
                await self._service.execute(c.Connect(agent_id))
            except BaseException:
                await self.closed(agent_id)
                raise

    async def closed(self, agent_id: int) -> None:
        count = self._open.get(agent_id, 0) - 1
        if count > 0:
            self._open[agent_id] = count
            return
        self._open.pop(agent_id, None)
        try:
            await self._service.execute(c.Disconnect(agent_id))
        except (DomainError, ServiceUnavailable) as error:  # the next start resets every connection
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
            await self._service.execute(c.ReportInput(agent_id))
        except (DomainError, ServiceUnavailable) as error:
            log.warning("input could not be recorded", agent_id=agent_id, error=str(error))
