"""Read webdataset shards (wit's own and img2dataset's) from any fsspec filesystem.

A shard is a tar whose members are `{key}.{ext}`; the members that share a key form one sample.
wit and img2dataset both write `{key}.jpg {key}.txt {key}.json` with zero-padded keys
(`000000001`). This module turns a shard spec into shard URLs, shard URLs into sample dicts
`{"__key__", "__url__", "jpg": bytes, "txt": str, "json": dict}`, and `sizes.json` into an epoch
length. It needs only the standard library and fsspec, so `wit build` users can read what they
wrote without torch.

Samples that cannot be used (no image, no caption, unreadable json) and shards that cannot be
read are skipped, never silently: they are counted in a `ReaderStats` the caller passes in.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator


from wit.core.errors import WitError
from wit.core.layout import SHARDS_DIR, SIZES, STATS_SUFFIX, DatasetLayout
from wit.core.storage import open_url, url_to_fs, with_protocol

log = logging.getLogger(__name__)

# Image extensions a sample may carry. img2dataset writes jpg by default and png/webp with
# --encode_format; every one of them is handed on under the "jpg" field (PIL decodes any).
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
TEXT_EXTENSIONS = ("txt",)
SPEC_SEPARATOR = "::"  # joins several specs in one string, as webdataset and open_clip do

_BRACE = re.compile(r"\{(\d+)\.\.(\d+)\}")


@dataclass
class ReaderStats:
    """Counts of what was read and what was skipped, by reason."""

    samples: int = 0
    shards: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def expand_braces(pattern: str) -> list[str]:
    """Expand numeric brace ranges like `shards/{00000..00009}.tar`, keeping zero padding."""
    match = _BRACE.search(pattern)
    if not match:
        return [pattern]
    first, last = match.group(1), match.group(2)
    width = len(first) if first.startswith("0") or len(first) == len(last) else 0
    head, tail = pattern[: match.start()], pattern[match.end() :]
    step = 1 if int(last) >= int(first) else -1
    expanded = []
    for number in range(int(first), int(last) + step, step):
        expanded.extend(expand_braces(f"{head}{number:0{width}d}{tail}"))
    return expanded


def expand_urls(spec: str | Iterable[str]) -> list[str]:
    """Shard URLs from a folder, a brace pattern, a glob, a single tar, or several joined by `::`.

    A folder gives every `*.tar` directly inside it, sorted (for a `wit build` output folder, the
    tars of its shards/ subfolder). Raises WitError when nothing matches,
    because an empty training set is always a mistake.
    """
    specs = spec.split(SPEC_SEPARATOR) if isinstance(spec, str) else list(spec)
    urls: list[str] = []
    for one in specs:
        one = one.strip()
        if not one:
            continue
        for pattern in expand_braces(one):
            urls.extend(_expand_one(pattern))
    if not urls:
        raise WitError(f"no shards found for {spec!r} (expected a folder of .tar files, a brace pattern or a glob)")
    return urls


def _expand_one(pattern: str) -> list[str]:
    fs, path = url_to_fs(pattern)
    if any(ch in path for ch in "*?["):
        return [with_protocol(fs, pattern, p) for p in sorted(fs.glob(path)) if p.endswith(".tar")]
    if fs.isdir(path):
        found = sorted(p for p in fs.ls(path, detail=False) if p.endswith(".tar"))
        if not found and fs.isdir(posixpath.join(path, SHARDS_DIR)):  # a `wit build` OUT folder
            return _expand_one(DatasetLayout(pattern).shards_dir)
        return [with_protocol(fs, pattern, p) for p in found]
    if not fs.exists(path):
        raise WitError(f"shard not found: {pattern}")
    return [pattern]


def split_key(member_name: str) -> tuple[str, str]:
    """`dir/000000001.jpg` -> (`dir/000000001`, `jpg`); the extension is everything after the first dot."""
    directory, base = posixpath.split(member_name)
    if "." not in base:
        return member_name, ""
    stem, extension = base.split(".", 1)
    return (posixpath.join(directory, stem) if directory else stem), extension.lower()


def iter_tar_groups(fileobj, url: str = "") -> Iterator[dict]:
    """Group consecutive tar members by key, as webdataset does (writers keep a sample's members together)."""
    current: dict | None = None
    with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
        for member in archive:
            if not member.isfile():
                continue
            key, extension = split_key(member.name)
            if not extension or posixpath.basename(key).startswith("."):
                continue  # stray files (e.g. __MACOSX/._*) are not samples
            payload = archive.extractfile(member).read()
            if current is not None and current["__key__"] != key:
                yield current
                current = None
            if current is None:
                current = {"__key__": key, "__url__": url}
            current[extension] = payload
    if current is not None:
        yield current


def decode_sample(raw: dict, stats: ReaderStats) -> dict | None:
    """Raw members -> {"__key__", "__url__", "jpg", "txt", "json"}; None (counted) when unusable."""
    image = next((raw[ext] for ext in IMAGE_EXTENSIONS if ext in raw), None)
    if image is None or len(image) == 0:
        stats.skip("no_image")
        return None
    text_bytes = next((raw[ext] for ext in TEXT_EXTENSIONS if ext in raw), None)
    if text_bytes is None:
        stats.skip("no_text")
        return None
    text = text_bytes.decode("utf-8", errors="replace").strip()
    if not text:
        stats.skip("empty_text")
        return None
    meta: dict = {}
    if "json" in raw:
        try:
            meta = json.loads(raw["json"])
        except (ValueError, UnicodeDecodeError):
            stats.skip("bad_json")
            return None
        if not isinstance(meta, dict):
            stats.skip("bad_json")
            return None
    return {"__key__": raw["__key__"], "__url__": raw["__url__"], "jpg": image, "txt": text, "json": meta}


def iter_shard(url: str, stats: ReaderStats) -> Iterator[dict]:
    """Samples of one shard; a shard that cannot be opened or is truncated is counted and cut short."""
    try:
        with open_url(url, "rb") as fileobj:
            stats.shards += 1
            for raw in iter_tar_groups(fileobj, url):
                sample = decode_sample(raw, stats)
                if sample is not None:
                    stats.samples += 1
                    yield sample
    except (tarfile.TarError, OSError, EOFError) as exc:
        stats.skip("bad_shard")
        log.warning("skipping the rest of shard %s: %s", url, exc)


def iter_samples(urls: str | Iterable[str], stats: ReaderStats | None = None) -> Iterator[dict]:
    """Every usable sample of the shards, in shard order; `urls` may be a spec or a list of URLs."""
    stats = stats if stats is not None else ReaderStats()
    shard_urls = expand_urls(urls) if isinstance(urls, str) else list(urls)
    for url in shard_urls:
        yield from iter_shard(url, stats)


def _sizes_candidates(url: str) -> list[str]:
    directory = posixpath.dirname(url)
    parent = posixpath.dirname(directory)
    # wit writes OUT/sizes.json beside OUT/shards/; open_clip-style sets keep it beside the tars.
    return [posixpath.join(directory, SIZES), posixpath.join(parent, SIZES)]


def shard_sizes(urls: list[str]) -> dict[str, int]:
    """Samples per shard URL, from sizes.json or, for img2dataset output, `{shard}_stats.json`."""
    sizes: dict[str, int] = {}
    loaded: dict[str, dict] = {}
    for url in urls:
        name = posixpath.basename(url)
        for candidate in _sizes_candidates(url):
            if candidate not in loaded:
                loaded[candidate] = _read_json(candidate) or {}
            if name in loaded[candidate]:
                sizes[url] = int(loaded[candidate][name])
                break
        else:
            stats = _read_json(url[: -len(".tar")] + STATS_SUFFIX) if url.endswith(".tar") else None
            if stats and "successes" in stats:
                sizes[url] = int(stats["successes"])
    return sizes


def epoch_size(spec: str | Iterable[str]) -> int:
    """Number of samples in the shards of `spec`, from sizes.json (or img2dataset's _stats.json)."""
    urls = expand_urls(spec) if isinstance(spec, str) else list(spec)
    sizes = shard_sizes(urls)
    missing = [url for url in urls if url not in sizes]
    if missing:
        raise WitError(
            f"no sample count for {len(missing)} shard(s), e.g. {missing[0]}: expected sizes.json beside the "
            "shards or in their parent folder (or img2dataset's *_stats.json); pass --train-num-samples instead"
        )
    return sum(sizes.values())


def _read_json(url: str) -> dict | None:
    try:
        with open_url(url, "r") as handle:
            value = json.load(handle)
    except (FileNotFoundError, ValueError, OSError):
        return None
    return value if isinstance(value, dict) else None
