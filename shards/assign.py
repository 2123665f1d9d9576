"""Deterministic shard assignment, decided before any image is fetched.

Every candidate gets a global position in one total order (by a hash bucket of its uid, then by
uid and url), and position p lands in shard p // shard_size at index p % shard_size. Same
candidates in, same shards out, whatever the runner, the number of workers or the input order:
so a re-run knows which shards are already complete and redoes only the others.

At scale nobody can sort 400M candidates in one process, and nobody has to: a histogram of the
65,536 hash buckets (a small global combine) gives each bucket its starting position, and each
bucket (a few thousand candidates even at WIT scale) is sorted on its own.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable, Mapping

BUCKETS = 1 << 16
SHARD_NAME_DIGITS = 5  # 00000.tar, like img2dataset


def bucket_of(uid: str) -> int:
    """Hash bucket of a uid in [0, BUCKETS): spreads any uid format evenly."""
    return int.from_bytes(hashlib.blake2b(uid.encode("utf-8", "surrogatepass"), digest_size=2).digest(), "big")


def order_key(candidate: Mapping) -> tuple:
    """Total order of candidates within a bucket (uid first; url and caption break ties)."""
    return (str(candidate.get("uid", "")), str(candidate.get("url", "")), str(candidate.get("text", "")))


def bucket_offsets(histogram: Mapping[int, int]) -> dict[int, int]:
    """Global position of the first candidate of each non-empty bucket."""
    offsets, position = {}, 0
    for bucket in sorted(histogram):
        offsets[bucket] = position
        position += histogram[bucket]
    return offsets


def sample_digits(shard_size: int) -> int:
    """Digits of the within-shard part of a key (4 for 10,000), as img2dataset counts them."""
    return max(1, math.ceil(math.log10(shard_size))) if shard_size > 1 else 1


def shard_name(shard_id: int) -> str:
    return f"{shard_id:0{SHARD_NAME_DIGITS}d}"


def sample_key(shard_id: int, index: int, shard_size: int) -> str:
    """img2dataset-style key: shard id then the zero-padded index, e.g. 000000001."""
    return f"{shard_id:0{SHARD_NAME_DIGITS}d}{index:0{sample_digits(shard_size)}d}"


def assign_bucket(bucket_start: int, candidates: Iterable[Mapping], shard_size: int) -> Iterable[tuple[int, tuple[str, dict]]]:
    """(shard_id, (key, candidate)) for every candidate of one bucket, given the bucket's start."""
    for position, candidate in enumerate(sorted(candidates, key=order_key), start=bucket_start):
        shard_id, index = divmod(position, shard_size)
        yield shard_id, (sample_key(shard_id, index, shard_size), dict(candidate))


def assign_all(candidates: Iterable[Mapping], shard_size: int) -> dict[int, list[tuple[str, dict]]]:
    """The whole assignment in one process (tests, small inputs): same result as the Beam path."""
    by_bucket: dict[int, list[Mapping]] = {}
    for candidate in candidates:
        by_bucket.setdefault(bucket_of(str(candidate.get("uid", ""))), []).append(candidate)
    offsets = bucket_offsets({b: len(c) for b, c in by_bucket.items()})
    shards: dict[int, list[tuple[str, dict]]] = {}
    for bucket, members in by_bucket.items():
        for shard_id, item in assign_bucket(offsets[bucket], members, shard_size):
            shards.setdefault(shard_id, []).append(item)
    return {shard_id: sorted(items, key=lambda item: item[0]) for shard_id, items in shards.items()}


def members_digest(keyed_candidates: Iterable[tuple[str, Mapping]]) -> str:
    """Fingerprint of a shard's membership: a completed shard is reused only if it matches."""
    digest = hashlib.sha256()
    for key, candidate in sorted(keyed_candidates, key=lambda item: item[0]):
        for part in itertools.chain((key,), order_key(candidate)):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
    return digest.hexdigest()[:32]
