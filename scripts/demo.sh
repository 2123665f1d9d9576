#!/usr/bin/env bash
# Set up .venv and run the main job on the embedded default, offline: write the sample web
# archive, build a dataset from it, train a tiny CLIP, evaluate it zero-shot on held-out digits,
# predict one image, write the report, and print a summary. Everything lands in ./demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh train,demo
exec .venv/bin/wit demo --out demo "$@"
