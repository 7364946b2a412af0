"""The build backend: setuptools, plus mypy when the compiled engine is asked for.

`ONDUTY_COMPILE=1 pip install .` compiles the engine's rules with mypyc (see
`setup.py`). Only then does the build need mypy, so only then is it asked for;
the plain install stays pure Python and needs nothing beyond setuptools.
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - this backend is setuptools' own, plus the hooks below

COMPILE_ENV = "ONDUTY_COMPILE"
# The compiler: mypyc comes with mypy. The same lower bound as the dev tools' type checker.
COMPILER = "mypy>=1.11"


def compiling() -> bool:
    value = os.environ.get(COMPILE_ENV, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{COMPILE_ENV} must be 1 (compile the engine) or 0 (pure Python), got {value!r}")
    return value == "1"


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    if compiling():
        # Not setuptools' hook: it runs setup.py, which would want mypyc before it is there.
        # That hook only adds setup.py's setup_requires, and this project has none.
        return [COMPILER]
    requires: list[str] = _setuptools.get_requires_for_build_wheel(config_settings)
    return requires


def _refuse_editable() -> None:
    if compiling():
        # An editable install would put the compiled modules beside the sources, where they
        # would shadow every later edit of the .py files.
        raise ValueError(
            f"{COMPILE_ENV}=1 needs a regular install (pip install .), not an editable one (pip install -e .)"
        )


# Every editable hook refuses, since a frontend may skip any one of them (pip's
# --no-build-isolation skips the requirements hook).
def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    _refuse_editable()
    requires: list[str] = _setuptools.get_requires_for_build_editable(config_settings)
    return requires


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    _refuse_editable()
    name: str = _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)
    return name


def build_editable(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    _refuse_editable()
    name: str = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    return name
