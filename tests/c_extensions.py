"""Import one of wit's optional C extensions for its tests.

An install without a C compiler skips them (the pure-Python paths are the fallback); where a
compiler exists the extension must have been built, so a broken build fails instead of skipping.
"""

import importlib
import shutil
import sysconfig

import pytest


def c_extension(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
        if shutil.which(compiler):
            pytest.fail(f"{name} did not import although a C compiler ({compiler}) is installed: {exc}", pytrace=False)
        pytest.skip(f"{name} is not built: no C compiler ({compiler}) on this machine", allow_module_level=True)
