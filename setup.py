"""The optional compiled engine: `ONDUTY_COMPILE=1 pip install .` (docs/performance.md).

Everything else about the package is in pyproject.toml. Without the variable
this builds the pure-Python package, as always. With it, mypyc compiles the
modules listed in `build_support/compiled.py` into C extensions, which Python
imports in place of their .py files. The behaviour is the same (CI runs the
suite against both builds); only the speed differs.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "build_support"))
from backend import compiling
from compiled import COMPILED


def ext_modules() -> list[object]:
    if not compiling():
        return []
    from mypyc.build import mypycify  # noqa: PLC0415 - needed, and there, only when compiling

    # One shared library for the group, named for the project (onduty__mypyc) rather than a hash;
    # the C sources mypyc writes go to a folder of their own.
    return list(mypycify(list(COMPILED), opt_level="3", group_name="onduty", target_dir="build/mypyc"))


setup(ext_modules=ext_modules())
