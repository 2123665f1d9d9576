#!/usr/bin/env bash
# Set up .venv with the test extras (and .peers/img2dataset) and run the whole test suite
# (slow end-to-end tests included).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"` for the fast unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh train,dev,demo,gcp
# img2dataset in .peers/img2dataset, for the interop tests (tests/test_peers.py). open_clip is not
# installed here (torch + torchvision, several GB): `scripts/setup-peers.sh open_clip` adds it
# in .peers/open_clip.
scripts/setup-peers.sh
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
