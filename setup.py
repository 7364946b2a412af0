"""The optional compiled engine: `ONDUTY_COMPILE=1 pip install .` (docs/performance.md).

Everything else about the package is in pyproject.toml. Without the variable
this builds the pure-Python package, as always. With it, mypyc compiles the
modules listed in `build_support/compiled.py` into C extensions, which Python
imports in place of their .py files. The behaviour is the same (CI runs the
engine's tests, and the service's around it, against both builds); only the
speed differs.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys

from setuptools import setup

# build_support/ is the backend's folder (pyproject.toml: backend-path), not a package: import from it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "build_support"))
from backend import compiling
from compiled import COMPILED

# setuptools' and mypyc's work folders. A compiled build starts without them: setuptools would
# otherwise pack a module compiled by an earlier build that no longer compiles it.
WORK = ("build/lib.*", "build/temp.*", "build/mypyc")


def ext_modules() -> list[object]:
    if not compiling():
        return []
    from mypyc.build import mypycify  # noqa: PLC0415 - needed, and there, only when compiling

    here = os.path.dirname(os.path.abspath(__file__))
    for pattern in WORK:
        for folder in glob.glob(os.path.join(here, pattern)):
            shutil.rmtree(folder)

    # One shared library for the group, named for the project (onduty__mypyc) rather than a hash;
    # the C sources mypyc writes go to a folder of their own.
    return list(mypycify(list(COMPILED), opt_level="3", group_name="onduty", target_dir="build/mypyc"))


setup(ext_modules=ext_modules())
