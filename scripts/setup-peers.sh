#!/usr/bin/env bash
# Create a venv for a peer tool wit must interoperate with and is measured against, under .peers/:
#
#   scripts/setup-peers.sh              # .peers/img2dataset: the interop tests and bench_fetch.py
#   scripts/setup-peers.sh open_clip    # .peers/open_clip (+ torch, torchvision): wit shards in open_clip
#
# Each peer has a venv of its own. Not in .venv: img2dataset pins old webdataset, pandas and
# albumentations and pulls wandb, and open_clip needs torchvision, none of which wit needs. Not
# together: img2dataset imports torch wherever torch is installed, which costs it ~0.6 GB and
# start-up per process, and bench_fetch.py must measure img2dataset as its users run it.
#
# Versions come from the one lock, requirements/constraints.txt. open_clip needs a torchvision
# built for the same torch; PEERS_TORCH names the pair when the lock's pair is not the one that
# works on this machine (e.g. PEERS_TORCH="torch==2.14.1 torchvision==0.29.1"). Idempotent: a
# second run with nothing changed takes a second. The tests find these venvs by themselves;
# WIT_PEERS_PYTHON points them at another Python.
set -euo pipefail
cd "$(dirname "$0")/.."

peer="${1:-img2dataset}"
case "$peer" in img2dataset|open_clip) ;; *) echo "setup-peers: usage: $0 [img2dataset|open_clip]" >&2; exit 2 ;; esac
python="${PYTHON:-python3}"
venv=.peers/$peer
constraints=requirements/constraints.txt
# A pair given once is remembered, so a later plain run keeps it.
torch_pair="${PEERS_TORCH:-$(cat "$venv/.wit-torch-pair" 2>/dev/null || grep -E '^(torch|torchvision)==' "$constraints" | tr '\n' ' ')}"

if [ ! -x "$venv/bin/python" ]; then
    echo "setup-peers: creating $venv with $($python --version 2>&1)"
    mkdir -p .peers
    "$python" -m venv "$venv"
fi
stamp="$venv/.wit-setup"
pins="$peer"
if [ "$peer" = open_clip ]; then pins="$peer $torch_pair"; fi
fingerprint=$( (cat "$constraints" scripts/setup-peers.sh; echo "$pins") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
    echo "setup-peers: $venv is up to date"
    exit 0
fi

pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade "pip>=24"
if [ "$peer" = img2dataset ]; then
    echo "setup-peers: installing img2dataset from $constraints"
    "${pip[@]}" install -q -c "$constraints" img2dataset
    NO_ALBUMENTATIONS_UPDATE=1 "$venv/bin/python" -c "import img2dataset"
else
    echo "setup-peers: installing $torch_pair"
    # shellcheck disable=SC2086  # the pair is two requirement words
    "${pip[@]}" install -q $torch_pair
    # The lock's own torch pins would fight the pair just installed; every other pin holds.
    others=$(mktemp)
    trap 'rm -f "$others"' EXIT
    grep -vE '^(torch|torchvision)==' "$constraints" > "$others"
    echo "setup-peers: installing open_clip_torch and its training needs from $constraints"
    "${pip[@]}" install -q -c "$others" open_clip_torch webdataset braceexpand pandas
    if ! "$venv/bin/python" -c "import open_clip_train.main"; then
        echo "setup-peers: open_clip does not import with $torch_pair; name a matching pair in PEERS_TORCH" >&2
        exit 1
    fi
    echo "$torch_pair" > "$venv/.wit-torch-pair"
fi
echo "$fingerprint" > "$stamp"
echo "setup-peers: done ($venv)"
