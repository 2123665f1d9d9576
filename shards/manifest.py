"""OUT/sizes.json and OUT/manifest.json: what a dataset holds, written once all shards are done.

sizes.json ({"00000.tar": n, ...}) gives trainers the epoch length. It is written twice, with
the same content: OUT/sizes.json, the dataset's index, and OUT/shards/sizes.json, because
open_clip looks for it only in the folder of the tars (open_clip_train.data.get_dataset_size)
and otherwise needs --train-num-samples.
manifest.json lists each tar with its sample count and sha256, the totals by status, the
configuration that produced it, the hash of the query list the text side used, and the
versions of the software involved, so a dataset can be checked and reproduced.
"""

from __future__ import annotations

import json
import platform
import posixpath
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import metadata


from wit.core.layout import DatasetLayout
from wit.core.storage import open_url, url_to_fs

MANIFEST_VERSION = 1


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("wit", "apache-beam", "aiohttp", "pillow", "pyarrow", "fsspec"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def build_manifest(summaries: Iterable[Mapping], config: Mapping, query_list_hash: str = "", build: Mapping | None = None,
                   fetch_stats: Mapping | None = None) -> dict:
    """The manifest document. `config` is the fetch stage's settings; `build`, when a `wit build`
    made the dataset, the whole build's (inputs, query list, cap, filters, fetch); `fetch_stats`,
    the run's counts of requests, retries and DNS lookups (pipeline/fetch_stats.py), where the
    driver gathers them (not in Beam, whose counters hold them)."""
    shards = sorted(summaries, key=lambda s: s["shard"])
    totals: Counter = Counter()
    for summary in shards:
        totals.update(summary["status_counts"])
    return {
        "manifest_version": MANIFEST_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samples": sum(s["samples"] for s in shards),
        "attempted": sum(s["attempted"] for s in shards),
        "status_counts": dict(sorted(totals.items())),
        "shards": [
            {
                "tar": s["tar"],
                "samples": s["samples"],
                "attempted": s["attempted"],
                "sha256": s["sha256"],
                "bytes": s["bytes"],
                "status_counts": s["status_counts"],
            }
            for s in shards
        ],
        "query_list_hash": query_list_hash,
        "config": dict(config),
        "build": dict(build) if build is not None else None,
        "fetch_stats": dict(fetch_stats) if fetch_stats is not None else None,
        "versions": software_versions(),
    }


def write_dataset_index(out: str, summaries: Iterable[Mapping], config: Mapping, query_list_hash: str = "",
                        build: Mapping | None = None, fetch_stats: Mapping | None = None) -> dict:
    """Write OUT/sizes.json, OUT/shards/sizes.json and OUT/manifest.json; returns the manifest."""
    manifest = build_manifest(summaries, config, query_list_hash, build, fetch_stats)
    sizes = {shard["tar"]: shard["samples"] for shard in manifest["shards"]}
    layout = DatasetLayout(out)
    _write_json(layout.sizes, sizes)
    _write_json(layout.shards_sizes, sizes)
    _write_json(layout.manifest, manifest)
    return manifest


def read_manifest(out: str) -> dict:
    with open_url(DatasetLayout(out).manifest, "r") as handle:
        return json.load(handle)


def _write_json(path: str, payload: Mapping) -> None:
    fs, root = url_to_fs(path)
    fs.makedirs(posixpath.dirname(root), exist_ok=True)  # OUT/shards/ does not exist when no shard was written
    temp = f"{root}.tmp"
    with fs.open(temp, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=False)
    fs.mv(temp, root)
