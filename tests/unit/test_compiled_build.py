"""The optional compiled build (setup.py, build_support/compiled.py) is what it says it is.

The whole suite runs against the README's editable install (pure Python); in CI
the engine's tests and the service's around it (`make test-compiled`) run again
against a regular install made with ONDUTY_COMPILE=1, with ONDUTY_EXPECT_COMPILED=1.
These tests make sure each run tests the build it means to, so a compiled leg can
never pass by quietly testing pure Python.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType

from onduty.buildinfo import COMPILED, PURE, engine_build

ROOT = Path(__file__).resolve().parents[2]
EXPECT_COMPILED = os.environ.get("ONDUTY_EXPECT_COMPILED") == "1"


def _build_list() -> ModuleType:
    spec = importlib.util.spec_from_file_location("onduty_build_list", ROOT / "build_support" / "compiled.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_extension(name: str) -> bool:
    return (importlib.import_module(name).__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))


def test_the_lists_name_real_modules_and_never_overlap() -> None:
    build = _build_list()
    for path in (*build.COMPILED, *build.NEVER_COMPILED):
        assert (ROOT / path).is_file(), path
    assert not set(build.COMPILED) & set(build.NEVER_COMPILED)


def test_every_listed_module_is_built_as_this_run_expects() -> None:
    build = _build_list()
    loaded = {path: _is_extension(build.module_name(path)) for path in build.COMPILED}
    assert loaded == dict.fromkeys(build.COMPILED, EXPECT_COMPILED)
    assert engine_build() == (COMPILED if EXPECT_COMPILED else PURE)


def test_input_checks_are_never_compiled() -> None:
    """validate.py and sim/config.py must see values as callers gave them (a `True` priority,
    a text that is not a string): compiled code would coerce or refuse them first."""
    build = _build_list()
    for path in build.NEVER_COMPILED:
        assert not _is_extension(build.module_name(path)), path
