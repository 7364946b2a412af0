"""The rules of a body's fields beyond their types, for the bodies whose fields are checked
together: a refused body names every field that breaks a rule, those msgspec let through
included (a setting of the wrong type and another out of range, in one answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from onduty.domain.reasons import reason_problems
from onduty.domain.settings import setting_problems
from onduty.web import schemas as s
from onduty.web._input_words import Problem

Rules = Callable[[dict[str, Any]], list[Problem]]


def zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def settings_rules(changes: dict[str, Any]) -> list[Problem]:
    """Every setting of `changes` (plain values, as SettingsPatch.changes gives them) that
    breaks its rule; the engine checks them again, and the catalogue's (S8's reason)."""
    problems = [Problem(p.field, p.message) for p in setting_problems(changes)]
    zone = changes.get("time_zone")
    if isinstance(zone, str) and "time_zone" not in {p.field for p in problems} and not zone_exists(zone):
        problems.append(Problem("time_zone", f"time_zone {zone!r} is not a known IANA time zone"))
    return problems


def _settings_fields(fields: dict[str, Any]) -> list[Problem]:
    # As the route reads them: null leaves a setting as it is, or turns an S8 one off.
    return settings_rules(msgspec.convert(fields, s.SettingsPatch).changes())


def _reason_fields(fields: dict[str, Any]) -> list[Problem]:
    return [Problem(p.field, p.message) for p in reason_problems(fields)]


RULES: dict[type[msgspec.Struct], Rules] = {
    s.SettingsPatch: _settings_fields,
    s.ReasonRequest: _reason_fields,
    s.ReasonPatch: _reason_fields,
}
