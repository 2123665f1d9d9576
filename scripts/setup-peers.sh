#!/usr/bin/env bash
# Create .peers-venv (if missing) with the peer tools wit must interoperate with and is measured
# against. They live apart from .venv: img2dataset pins old webdataset, pandas and
# albumentations and pulls wandb, and open_clip needs torchvision, none of which wit needs.
#
#   scripts/setup-peers.sh              # img2dataset: the interop tests and bench_fetch.py
#   scripts/setup-peers.sh open_clip    # also open_clip (+ torch, torchvision): wit shards in open_clip
#
# Versions come from the one lock, requirements/constraints.txt. open_clip needs a torchvision
# built for the same torch; PEERS_TORCH names the pair when the lock's pair is not the one that
# works on this machine (e.g. PEERS_TORCH="torch==2.14.1 torchvision==0.29.1"). Idempotent: a
# second run with nothing changed takes a second. The tests find the venv by itself;
# WIT_PEERS_PYTHON points them at another Python.
set -euo pipefail
cd "$(dirname "$0")/.."

peers="${1:-img2dataset}"
case "$peers" in img2dataset|open_clip) ;; *) echo "setup-peers: usage: $0 [img2dataset|open_clip]" >&2; exit 2 ;; esac
python="${PYTHON:-python3}"
venv=.peers-venv
constraints=requirements/constraints.txt
torch_pair="${PEERS_TORCH:-$(grep -E '^(torch|torchvision)==' "$constraints" | tr '\n' ' ')}"

if [ ! -x "$venv/bin/python" ]; then
    echo "setup-peers: creating $venv with $($python --version 2>&1)"
    "$python" -m venv "$venv"
fi
stamp="$venv/.wit-peers-$peers"
fingerprint=$( (cat "$constraints" scripts/setup-peers.sh; echo "$torch_pair") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
    echo "setup-peers: $venv is up to date ($peers)"
    exit 0
fi

pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade "pip>=24"
echo "setup-peers: installing img2dataset from $constraints"
"${pip[@]}" install -q -c "$constraints" img2dataset
if [ "$peers" = open_clip ]; then
    echo "setup-peers: installing $torch_pair"
    # shellcheck disable=SC2086  # the pair is two requirement words
    "${pip[@]}" install -q $torch_pair
    # The lock's own torch pins would fight the pair just installed; every other pin holds.
    others=$(mktemp)
    trap 'rm -f "$others"' EXIT
    grep -vE '^(torch|torchvision)==' "$constraints" > "$others"
    echo "setup-peers: installing open_clip_torch from $constraints"
    "${pip[@]}" install -q -c "$others" open_clip_torch webdataset braceexpand pandas
    "$venv/bin/python" -c "import open_clip_train.main" || { echo "setup-peers: open_clip does not import in $venv" >&2; exit 1; }
fi
NO_ALBUMENTATIONS_UPDATE=1 "$venv/bin/python" -c "import img2dataset"
echo "$fingerprint" > "$stamp"
echo "setup-peers: done ($venv: $peers)"
