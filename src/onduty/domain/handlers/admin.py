"""The reason catalogue (S1) and workspace settings."""

from __future__ import annotations

from onduty.domain import commands as c
from onduty.domain._state import Out
from onduty.domain.errors import Conflict, DomainError, InvalidFields
from onduty.domain.events import ReasonSaved, SettingsChanged
from onduty.domain.pickers import picker_for
from onduty.domain.reasons import Reason, reason_problems, validate_label, validate_max_minutes
from onduty.domain.types import Instant, State
from onduty.domain.workspace import Workspace


def _saved(reason: Reason, now: Instant) -> ReasonSaved:
    return ReasonSaved(now, reason.code, reason.label, reason.requires_approval, reason.retired, reason.max_minutes)


def add_reason(ws: Workspace, cmd: c.AddReason, now: Instant, out: Out) -> None:
    label, max_minutes = ws.reasons.check_add(cmd.code, cmd.label, cmd.max_minutes)
    reason = Reason(cmd.code, label, bool(cmd.requires_approval), max_minutes=max_minutes)
    ws.reasons.add(reason)
    out.append(_saved(reason, now))


def change_reason(ws: Workspace, cmd: c.ChangeReason, now: Instant, out: Out) -> None:
    reason = ws.reasons.existing(cmd.code)
    if cmd.clear_max_minutes and cmd.max_minutes is not None:
        raise DomainError("give max_minutes or clear it, not both", field="max_minutes")
    problems = reason_problems({"label": cmd.label, "max_minutes": cmd.max_minutes})
    if problems:
        raise InvalidFields(problems)
    label = reason.label if cmd.label is None else validate_label(cmd.label)
    max_minutes = None if cmd.clear_max_minutes else validate_max_minutes(cmd.max_minutes)
    reason.label = label
    if cmd.requires_approval is not None:
        reason.requires_approval = bool(cmd.requires_approval)
    if (cmd.clear_max_minutes or max_minutes is not None) and max_minutes != reason.max_minutes:
        reason.max_minutes = max_minutes
        # S10: the limit moves for whoever is in this break now; the end of the step re-arms them.
        ws._dirty.update(a.id for a in ws.agents.values() if a.state is State.INACTIVE and a.reason == reason.code)
    out.append(_saved(reason, now))


def retire_reason(ws: Workspace, cmd: c.RetireReason, now: Instant, out: Out) -> None:
    """S1: no longer offered; agents in it stay until they change; history still reads."""
    reason = ws.reasons.existing(cmd.code)
    if reason.retired:
        raise Conflict(f"reason {cmd.code!r} is retired already", field="code")
    if (target := ws.settings.on_disconnect).reason == reason.code and target.state is State.INACTIVE:
        raise Conflict(f"reason {cmd.code!r} is the on_disconnect status (S8); change that setting first", field="code")
    reason.retired = True
    out.append(_saved(reason, now))
    for request in list(ws.requests.values()):
        if request.reason == reason.code:
            ws.cancel_request(ws.agents[request.agent_id], "reason_retired", now, out)


def change_settings(ws: Workspace, cmd: c.ChangeSettings, now: Instant, out: Out) -> None:
    old = ws.settings
    new = old.changed(cmd.changes)
    if "on_disconnect" in cmd.changes and new.on_disconnect.state is State.INACTIVE:
        ws.reasons.usable(new.on_disconnect.reason, field="on_disconnect")
    ws.settings = new
    if new.strategy is not old.strategy:
        ws.picker = picker_for(new.strategy)
    if new.strategy is not old.strategy or new.default_capacity != old.default_capacity:
        for agent in ws.agents.values():
            ws.reindex(agent)
    if new.response_timeout != old.response_timeout:
        ws._dirty.update(a.id for a in ws.agents.values() if a.unanswered)
    s8 = ("disconnect_grace", "idle_timeout", "on_disconnect")
    if any(getattr(new, name) != getattr(old, name) for name in s8):
        ws._dirty.update(ws.agents)
    applied = {name: value for name, value in new.as_dict().items() if name in cmd.changes}
    out.append(SettingsChanged(now, applied))
