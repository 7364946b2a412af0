"""The workspace's state and the lookups every rule needs.

The engine's rules are split over mixins that share these attributes:
routing (threads moving between queue and agents) and presence (statuses,
S6 timers). `Workspace` joins them.
"""

from __future__ import annotations

from onduty.domain._affinity import ClientAffinity
from onduty.domain._queue import GeneralQueue
from onduty.domain._timers import TimerHeap
from onduty.domain.errors import NotFound
from onduty.domain.events import Event
from onduty.domain.model import Agent, ApprovalRequest, Thread
from onduty.domain.pickers import Picker, picker_for
from onduty.domain.reasons import ReasonCatalogue
from onduty.domain.settings import Settings
from onduty.domain.types import AgentId, ClientId, Instant, RequestId, State, ThreadId

Out = list[Event]


class WorkspaceState:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.reasons = ReasonCatalogue()
        self.agents: dict[AgentId, Agent] = {}
        self.threads: dict[ThreadId, Thread] = {}  # open threads only
        self.open_by_client: dict[ClientId, ThreadId] = {}
        self.requests: dict[RequestId, ApprovalRequest] = {}  # pending only
        self.queue = GeneralQueue(self.threads)
        self.picker: Picker = picker_for(self.settings.strategy)
        self.timers = TimerHeap()
        self.affinity = ClientAffinity()
        # R5 deferred by R6: unanswered threads of agents who left active while nobody was eligible.
        self.reclaim_pending: dict[ThreadId, None] = {}
        # Agents with own clients' threads waiting for them (R4).
        self.reserving: dict[AgentId, None] = {}
        self.next_thread_id = 1
        self.next_message_id = 1
        self.next_request_id = 1
        self.next_chat_id = 1  # C1: the messages themselves are storage's
        self.clock: Instant = float("-inf")
        self.active_count = 0  # agents in state active: whether routing is halted (R6) or at capacity
        # S8: instance -> how many agents have a stream open on it (only instances with some).
        self.agents_on_instance: dict[str, int] = {}
        # Agents whose S6 deadline may have moved during the current command.
        self._dirty: set[AgentId] = set()

    # -- lookups ---------------------------------------------------------------

    def agent(self, agent_id: AgentId, field: str = "agent_id") -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent with id {agent_id}", field=field)
        return agent

    def thread(self, thread_id: ThreadId, field: str = "thread_id") -> Thread:
        thread = self.threads.get(thread_id)
        if thread is None:
            raise NotFound(f"no open thread with id {thread_id}", field=field)
        return thread

    def capacity_of(self, agent: Agent) -> int:
        return self.settings.default_capacity if agent.capacity is None else agent.capacity

    def has_room(self, agent: Agent) -> bool:
        return len(agent.threads) < self.capacity_of(agent)

    def reindex(self, agent: Agent) -> None:
        """After anything about an agent changed: whether the router may pick them (R2), and a
        mark that their deadlines (S6, S8) are to be set again at the end of the step."""
        self.picker.update(agent, agent.state is State.ACTIVE and self.has_room(agent))
        self._dirty.add(agent.id)

    def routing(self) -> str:
        """What happens to a thread that arrives now (W5): `flowing` (someone can take it),
        `halted` (R6: nobody is active) or `at_capacity` (every active agent is full)."""
        if len(self.picker):
            return "flowing"
        return "at_capacity" if self.active_count else "halted"

    # -- hooks the mixins provide to each other ---------------------------------
    # The rules are split over mixins (_routing.py, _presence.py, _connections.py) that call each
    # other through these; Workspace joins them, so each is defined once, lower in the chain.

    def _after_release(self, agent: Agent, now: Instant, out: Out) -> None:
        raise NotImplementedError

    def route(self, now: Instant, out: Out) -> None:
        raise NotImplementedError
