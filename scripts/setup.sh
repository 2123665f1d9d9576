#!/usr/bin/env bash
# Create .venv (if missing) and install wit with the given extras from the one lock file,
# requirements/constraints.txt. Idempotent: a second run with nothing changed takes a second.
#
#   scripts/setup.sh                 # core + train
#   scripts/setup.sh train,dev       # what the tests need
#
# torch is installed first as `torch==2.13.0`, so where a local CPU wheel is provided pip takes
# it, and nothing later can pull a CUDA build in by asking for a newer torch.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-train}"
python="${PYTHON:-python3}"
venv=.venv
constraints=requirements/constraints.txt

if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv with $($python --version 2>&1)"
    "$python" -m venv "$venv"
fi

# The stamp records what was installed; skip pip entirely when nothing changed.
stamp="$venv/.wit-setup-$(echo "$extras" | tr ',' '-')"
# The C extensions (queries/_fastmatch.c, queries/_ngramcount.c, filters/_fastlid.c, filters/_rulescan.c) are compiled
# by the install, so a change to one must reinstall too.
fingerprint=$(cat pyproject.toml setup.py "$constraints" scripts/setup.sh queries/_fastmatch.c queries/_ngramcount.c filters/_fastlid.c filters/_rulescan.c | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
    echo "setup: $venv is up to date (extras: $extras)"
    exit 0
fi

pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade "pip>=24"
if [[ ",$extras," == *",train,"* || ",$extras," == *",peers,"* ]]; then
    torch_pin=$(grep -E '^torch==' "$constraints" | head -n1)
    echo "setup: installing ${torch_pin}"
    "${pip[@]}" install -q "$torch_pin"
fi
echo "setup: installing wit[$extras] from $constraints"
"${pip[@]}" install -q -c "$constraints" -e ".[$extras]"

# WordNet's database files feed the offline query list; optional, so failure is not fatal.
if [ ! -d /usr/share/wordnet ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    if ! (apt-get install -y -q wordnet-base >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wordnet-base >/dev/null 2>&1; }); then
        echo "setup: could not apt-get install wordnet-base; the default query list will be built without WordNet"
    fi
fi

echo "$fingerprint" > "$stamp"
echo "setup: done ($venv, extras: $extras)"
