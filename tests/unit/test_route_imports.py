"""The routes reach the database only through the service's interfaces (ENGINEERING.md,
"Architecture": never the engine's internals or the store), so that the same routes run
on the owner and on a follower: `service/reads.py` and `service/accounts.py`, which
`AppContext` holds as `reads` and `accounts`.

A route module therefore imports nothing of storage, nor a module outside the service
that reads the store itself (a report's queries), and takes no store from the context or
the node. The types a route needs of storage (`User`) come re-exported by the service."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import onduty

SRC = Path(onduty.__file__).parent
WEB = SRC / "web"
# The modules that answer requests. app.py and context.py are the wiring: they build the
# store and the service's interfaces over it.
ROUTE_MODULES = sorted([*WEB.glob("routes_*.py"), WEB / "_events_ws.py", WEB / "_pages.py"])
# What holds the store: `ctx.users` (the users' store, over the SqlStore) and `node.store`.
STORE_HOLDERS = ("store", "users")


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every onduty module the file imports, with its line; `from a import b` names a and a.b."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("onduty"):
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("onduty"):
                    yield node.lineno, alias.name


def source_of(module: str) -> Path | None:
    base = SRC.joinpath(*module.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def is_storage(module: str) -> bool:
    return module == "onduty.storage" or module.startswith("onduty.storage.")


def reads_the_store(module: str) -> bool:
    """Storage itself, or a module outside the service and the web that imports it."""
    if is_storage(module):
        return True
    if module.startswith(("onduty.service", "onduty.web")):
        return False
    path = source_of(module)
    return path is not None and any(is_storage(m) for _, m in imports(path))


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: p.name)
def test_a_route_module_imports_nothing_that_reads_the_store(path: Path) -> None:
    found = [f"{path.name}:{line} imports {module}" for line, module in imports(path) if reads_the_store(module)]
    assert found == []


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=lambda p: p.name)
def test_a_route_takes_no_store_from_the_context_or_the_node(path: Path) -> None:
    found = [
        f"{path.name}:{node.lineno} .{node.attr}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in STORE_HOLDERS
    ]
    assert found == []


def test_the_check_sees_what_it_looks_for() -> None:
    """A report's module that runs its own SQL counts; the pure ones and the service do not."""
    assert reads_the_store("onduty.storage.users.User")
    assert reads_the_store("onduty.reports.status_log")
    assert not reads_the_store("onduty.reports.periods")
    assert not reads_the_store("onduty.service.reads")
