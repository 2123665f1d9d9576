"""Where the peer tools live for the interop tests: img2dataset and open_clip run in a Python of
their own (scripts/setup-peers.sh makes .peers-venv), never in the project's venv."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def peers_python() -> str:
    """$WIT_PEERS_PYTHON, else .peers-venv's Python, else this one."""
    chosen = os.environ.get("WIT_PEERS_PYTHON")
    if chosen:
        return chosen
    venv = REPO / ".peers-venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


@functools.lru_cache(maxsize=None)
def _import_error(python: str, module: str) -> str:
    try:
        result = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    except OSError as exc:
        return str(exc)
    return "" if result.returncode == 0 else (result.stderr.strip().splitlines() or ["exit %d" % result.returncode])[-1]


def require(module: str, how: str) -> str:
    """The peers Python, if `module` imports there; otherwise the test is skipped, saying why."""
    python = peers_python()
    error = _import_error(python, module)
    if error:
        pytest.skip(f"{module} does not import in {python} ({error}); {how}, or set WIT_PEERS_PYTHON")
    return python


def peer_env() -> dict:
    """No update checks: albumentations (imported by img2dataset) asks PyPI for its version at import."""
    return {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"}
