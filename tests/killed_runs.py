"""Kill a `wit` run once its first shard is committed, and read back what the shards store:
what the kill-and-re-run tests of `wit fetch` and `wit build` share."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path


def kill_after_first_shard(args: list[str], out: Path, cwd: Path, wait_s: float = 120) -> None:
    """Run `args` in its own process group and SIGKILL the whole group (Beam's worker processes
    included) as soon as OUT/shards holds a committed shard."""
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + wait_s
        while not list((out / "shards").glob("*_stats.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list((out / "shards").glob("*_stats.json")), f"no shard completed in {wait_s:.0f} s"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def stored_samples(out: Path) -> dict:
    """key -> (url, sha256) of every sample in OUT/shards/*.tar."""
    samples = {}
    for path in sorted((out / "shards").glob("*.tar")):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".json"):
                    meta = json.load(tar.extractfile(member))
                    samples[meta["key"]] = (meta["url"], meta["sha256"])
    return samples
