"""Stage 3: global deduplication by uid (same normalised image URL and caption).

Which duplicate survives must not depend on input order or runner, so the survivor is the one
with the smallest (source, text_field, page_url); pre-set query matches from search sources are
unioned so that no query loses a candidate it found.

In Beam the candidates are shuffled by uid bucket (`uid_bucket`: the uid modulo `buckets`), not
by uid: each worker holds its candidates per bucket, already deduplicated (`add_candidate`),
and emits one CandidateBatch per bucket when it holds MAX_HELD candidates or the bundle ends; a
GroupByKey brings every batch of a bucket together and `keep_one_per_uid` merges them. Every
copy of a uid lands in the same bucket, so this is exactly a dedup by uid, with one shuffled
element per bucket and flush instead of one per candidate. The build picks `buckets` from the
number of input files (`buckets_for_files`), so a bucket stays a few thousand to tens of
thousands of candidates however large the crawl.
"""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from wit.pipeline.batches import CandidateBatch, chunked
from wit.pipeline.counting import COUNTS_TAG, UNIQUE, CountingDoFn, HoldingDoFn

# Candidates a worker holds (over all buckets) before it emits them: bounds its memory.
MAX_HELD = 50_000
DEFAULT_BUCKETS = 64
BUCKETS_PER_FILE = 32
MAX_BUCKETS = 1 << 16


def buckets_for_files(n_files: int) -> int:
    """Dedup buckets for a build over `n_files` inputs (a WAT file is about a million links)."""
    return max(DEFAULT_BUCKETS, min(MAX_BUCKETS, BUCKETS_PER_FILE * n_files))


def uid_bucket(uid: str, buckets: int) -> int:
    return int(uid, 16) % buckets


def survivor_key(candidate: dict) -> tuple:
    return (candidate.get("source", ""), candidate.get("text_field", ""), candidate.get("page_url", ""))


def merge_duplicates(first: dict, second: dict) -> dict:
    """The candidate to keep of two with the same uid, order-independent."""
    keep, other = (first, second) if survivor_key(first) <= survivor_key(second) else (second, first)
    if other.get("matches") and set(other["matches"]) - set(keep.get("matches") or ()):
        keep = dict(keep, matches=sorted(set(keep.get("matches") or ()) | set(other["matches"])))
    return keep


def add_candidate(survivors: dict[str, dict], candidate: dict) -> bool:
    """Adds `candidate` to `survivors` (uid -> candidate); False when its uid was there already."""
    uid = candidate["uid"]
    held = survivors.get(uid)
    if held is None:
        survivors[uid] = candidate
        return True
    survivors[uid] = merge_duplicates(held, candidate)
    return False


def keep_one_per_uid(candidates: Iterable[dict]) -> tuple[list[dict], int]:
    """(one survivor per uid, how many duplicates were dropped); the survivors do not depend on order."""
    survivors: dict[str, dict] = {}
    duplicates = 0
    for candidate in candidates:
        if not add_candidate(survivors, candidate):
            duplicates += 1
    return list(survivors.values()), duplicates


class HoldByBucketDoFn(HoldingDoFn):
    """CandidateBatches -> (bucket, CandidateBatch) with each uid once per emitted batch."""

    def __init__(self, buckets: int, progress_dir: str | None = None, max_held: int = MAX_HELD):
        super().__init__(progress_dir)
        self._buckets = buckets
        self._max_held = max_held

    def reset_held(self):
        self._held: dict[int, dict[str, dict]] = {}
        self._n_held = 0

    def hold(self, batch: CandidateBatch):
        buckets = self._buckets
        held = self._held
        for candidate in batch.candidates:
            bucket = uid_bucket(candidate["uid"], buckets)
            survivors = held.get(bucket)
            if survivors is None:
                survivors = held[bucket] = {}
            if add_candidate(survivors, candidate):
                self._n_held += 1
            else:
                self.count("drop_duplicate")

    def is_full(self):
        return self._n_held >= self._max_held

    def flush(self):
        for bucket, survivors in self._held.items():
            yield bucket, CandidateBatch(survivors.values())
        self._held = {}
        self._n_held = 0


class EmitSurvivorsDoFn(CountingDoFn):
    """(bucket, its batches) -> CandidateBatches of one survivor per uid."""

    def process(self, bucket_and_batches):
        _, batches = bucket_and_batches
        survivors, duplicates = keep_one_per_uid(candidate for batch in batches for candidate in batch.candidates)
        if duplicates:
            self.count("drop_duplicate", duplicates)
        self.count(UNIQUE, len(survivors))
        yield from chunked(survivors)


class DedupByUid(beam.PTransform):
    """CandidateBatches -> (batches of one candidate per uid, counts)."""

    def __init__(self, progress_dir: str | None = None, buckets: int = DEFAULT_BUCKETS, max_held: int = MAX_HELD):
        super().__init__()
        if buckets < 1:
            raise ValueError(f"dedup needs at least one bucket, not {buckets}")
        self._progress_dir = progress_dir
        self._buckets = buckets
        self._max_held = max_held

    def expand(self, candidates):
        held = candidates | "HoldByBucket" >> beam.ParDo(HoldByBucketDoFn(self._buckets, self._progress_dir, self._max_held)) \
            .with_output_types(tuple[int, CandidateBatch]).with_outputs(COUNTS_TAG, main="held")
        survivors = (
            held.held
            | "GroupBuckets" >> beam.GroupByKey()
            | "EmitSurvivors" >> beam.ParDo(EmitSurvivorsDoFn(self._progress_dir))
            .with_output_types(CandidateBatch).with_outputs(COUNTS_TAG, main="kept")
        )
        counts = (held[COUNTS_TAG], survivors[COUNTS_TAG]) | "DedupCounts" >> beam.Flatten()
        return survivors.kept, counts
