#!/usr/bin/env bash
# Set up .venv with the test extras and run the whole test suite (slow end-to-end tests included).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"` for the fast unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh train,dev,demo
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
