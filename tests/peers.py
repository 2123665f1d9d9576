"""Where the peer tools live for the interop tests: img2dataset and open_clip run in Pythons of
their own (scripts/setup-peers.sh makes .peers/img2dataset and .peers/open_clip), never in the
project's venv."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def peer_pythons() -> list[str]:
    """$WIT_PEERS_PYTHON alone if set, else every venv under .peers/, then this Python."""
    chosen = os.environ.get("WIT_PEERS_PYTHON")
    if chosen:
        return [chosen]
    return [str(p) for p in sorted((REPO / ".peers").glob("*/bin/python"))] + [sys.executable]


@functools.lru_cache(maxsize=None)
def _import_error(python: str, module: str) -> str:
    try:
        result = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, timeout=300,
                                env=peer_env())
    except OSError as exc:
        return str(exc)
    return "" if result.returncode == 0 else (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]


def require(module: str, how: str) -> str:
    """The first peer Python where `module` imports; otherwise the test is skipped, saying why."""
    pythons = peer_pythons()
    for python in pythons:
        if not _import_error(python, module):
            return python
    pytest.skip(f"{module} does not import in {', '.join(pythons)} ({_import_error(pythons[-1], module)}); "
                f"{how}, or set WIT_PEERS_PYTHON")


def peer_env() -> dict:
    """No update checks: albumentations (imported by img2dataset) asks PyPI for its version at import."""
    return {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"}
