"""Which build of the engine this process runs: pure Python, or compiled with mypyc.

`ONDUTY_COMPILE=1 pip install .` builds the compiled one (setup.py). The
service logs it at start and the benchmarks print it beside their figures,
since the two builds run the same rules at different speeds.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES

from onduty.domain import engine

COMPILED = "compiled"
PURE = "pure Python"


def engine_build() -> str:
    """`compiled` when the engine's module was loaded from a C extension, else `pure Python`."""
    return COMPILED if (engine.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES)) else PURE
