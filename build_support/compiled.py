"""Which modules the optional compiled build compiles with mypyc (`ONDUTY_COMPILE=1`).

The engine's rules, its model and restore, and the simulator's loop: the code
every command, restart and simulated thread runs through. Left out on purpose:

- the event and command classes (`events.py`, `commands.py`): mypyc does not
  compile a dataclass hierarchy whose base gives a `ClassVar` default;
- `validate.py` and `sim/config.py`: they check values given from outside, and
  compiled code coerces a value by its declared type as it reads or stores it
  (a `True` priority would become 1), before the check could see it;
- everything outside the domain and the simulator: the service spends its
  time in the web stack and the database drivers, which are compiled already.
"""

from __future__ import annotations

COMPILED: tuple[str, ...] = (
    "src/onduty/domain/affinity.py",
    "src/onduty/domain/engine.py",
    "src/onduty/domain/handlers/admin.py",
    "src/onduty/domain/handlers/agents.py",
    "src/onduty/domain/handlers/threads.py",
    "src/onduty/domain/model.py",
    "src/onduty/domain/pickers.py",
    "src/onduty/domain/presence.py",
    "src/onduty/domain/queue.py",
    "src/onduty/domain/restore.py",
    "src/onduty/domain/routing.py",
    "src/onduty/domain/state.py",
    "src/onduty/domain/timers.py",
    "src/onduty/domain/workspace.py",
    "src/onduty/sim/simulator.py",
)

# Checked by tests/unit/test_compiled_build.py, as the reasons above say.
NEVER_COMPILED: tuple[str, ...] = (
    "src/onduty/domain/commands.py",
    "src/onduty/domain/events.py",
    "src/onduty/domain/validate.py",
    "src/onduty/sim/config.py",
)


def module_name(path: str) -> str:
    """`src/onduty/domain/engine.py` -> `onduty.domain.engine`."""
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")
