"""The engine: commands in, events out, `now` an argument.

Commands are applied one at a time. A refused command raises a DomainError
before anything changes. Timers are data: `next_deadline()` says when the
engine next wants to be woken, and `tick(now)` fires what is due. Callers tick
before handling a command at a time past the next deadline, so that a
refused command never hides the effects of a timer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from onduty.domain import commands as c
from onduty.domain.events import Event
from onduty.domain.handlers import admin, agents, chat, threads
from onduty.domain.settings import Settings
from onduty.domain.types import Instant
from onduty.domain.workspace import Workspace

_Handler = Callable[[Workspace, Any, Instant, list[Event]], None]

HANDLERS: dict[type, _Handler] = {
    c.RegisterAgent: agents.register_agent,
    c.ChangeAgent: agents.change_agent,
    c.Login: agents.login,
    c.Logout: agents.logout,
    c.SetStatus: agents.set_status,
    c.DecideApproval: agents.decide_approval,
    c.ContinueWorking: agents.continue_working,
    c.Connect: agents.connect,
    c.Disconnect: agents.disconnect,
    c.DropInstance: agents.drop_instance,
    c.ResetConnections: agents.reset_connections,
    c.ReportInput: agents.report_input,
    c.ReceiveClientMessage: threads.receive_client_message,
    c.Answer: threads.answer,
    c.CloseThread: threads.close_thread,
    c.Transfer: threads.transfer,
    c.PinMessage: threads.pin_message,
    c.AddReason: admin.add_reason,
    c.ChangeReason: admin.change_reason,
    c.RetireReason: admin.retire_reason,
    c.ChangeSettings: admin.change_settings,
    c.SendChatMessage: chat.send_message,
    c.MarkChatRead: chat.mark_read,
}


class Engine:
    def __init__(self, settings: Settings | None = None) -> None:
        self.workspace = Workspace(settings)

    def next_deadline(self) -> Instant | None:
        """When the engine next wants to be woken (None: never): the earliest live deadline."""
        return self.workspace.next_deadline()

    def handle(self, command: c.Command, now: Instant) -> list[Event]:
        ws = self.workspace
        now = max(now, ws.clock)  # time never runs backwards inside the engine
        out: list[Event] = []
        HANDLERS[type(command)](ws, command, now, out)  # raises before changing anything
        ws.clock = now
        ws.end_step(now, out)
        self._settle(now, out)
        return out

    def tick(self, now: Instant) -> list[Event]:
        now = self._advance(now)
        out: list[Event] = []
        self._settle(now, out)
        return out

    def _settle(self, now: Instant, out: list[Event]) -> None:
        """Fire what is due. A command can make a deadline due at once (a shorter
        response_timeout); it fires in the same step, so none is ever left behind."""
        ws = self.workspace
        # next_deadline() also drops the stale entries at the top of the heap. It must run here
        # even when nothing is due: which stale entries survive (one can become live again, with
        # its old sequence number) decides the order in which deadlines that tie fire.
        while (deadline := ws.next_deadline()) is not None and deadline <= now:
            ws.fire_due(now, out)
            ws.end_step(now, out)

    def _advance(self, now: Instant) -> Instant:
        # Time never runs backwards inside the engine, whatever the caller's clock does.
        ws = self.workspace
        ws.clock = max(now, ws.clock)
        return ws.clock
