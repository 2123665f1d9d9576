#!/usr/bin/env bash
# Set up .venv and run the main job on the embedded default (offline).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh train,demo
.venv/bin/wit --version
.venv/bin/wit --help
