"""Stage 3: global deduplication by uid (same normalised image URL and caption).

Which duplicate survives must not depend on input order or runner, so the survivor is the one
with the smallest (source, text_field, page_url); pre-set query matches from search sources are
unioned so that no query loses a candidate it found.

In Beam the candidates are shuffled by uid bucket (`uid_bucket`: the uid modulo `buckets`), not
by uid: each worker holds its candidates per bucket, already deduplicated (`add_candidate`),
and emits one CandidateBatch per bucket when it holds MAX_HELD candidates or the bundle ends; a
GroupByKey brings every batch of a bucket together and `keep_one_per_uid` merges them. Every
copy of a uid lands in the same bucket, so this is exactly a dedup by uid, with one shuffled
element per bucket and flush instead of one per candidate. The build picks `buckets` in
proportion to its input (`buckets_for_input`: per file and per byte, with no upper limit), so
what meets at one bucket, and what one reducer holds, stays a few thousand to tens of
thousands of candidates however large the crawl: more input means more keys, never larger ones.

On the local runner (`spill_dir` set) the batches go into the shuffle as references to a spill
file (pipeline/spill.py), so neither the launcher, which holds the shuffle, nor a reducer, which
is handed its whole share of it at once, holds the candidates themselves; the reducer reads a
bucket's batches back one at a time.

Each shuffle reports its sizes as Beam distributions (namespace `wit`; the largest values are
what `wit build` prints and benchmarks/bench_crawl_scale.py charts): `dedup_batch_candidates`
per shuffled element, `dedup_bucket_candidates` per bucket meeting on a reducer.
"""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from wit.pipeline.batches import CandidateBatch, chunked
from wit.pipeline.counting import COUNTS_TAG, METRICS_NAMESPACE, UNIQUE, CountingDoFn
from wit.pipeline.spill import SpillingHoldingDoFn

# Candidates a worker holds (over all buckets) before it emits them: bounds its memory.
MAX_HELD = 50_000
DEFAULT_BUCKETS = 64
# A Common Crawl WAT file (~300 MB gzipped) holds about a million alt-text links, of which
# roughly half pass the filters: 32 buckets per file keep a bucket near 15,000 candidates.
BUCKETS_PER_FILE = 32
# Inputs much larger than a WAT file (one big URL list parquet) get buckets by size: a URL list
# row is ~100-200 bytes, so 4 MiB of input is some 20,000-40,000 candidates at most.
BYTES_PER_BUCKET = 4 << 20
# Shuffle sizes, as Beam distributions (namespace wit).
BATCH_SIZE_METRIC = "dedup_batch_candidates"
BUCKET_SIZE_METRIC = "dedup_bucket_candidates"


def buckets_for_input(n_files: int, input_bytes: int | None = None) -> int:
    """Dedup buckets for a build over `n_files` inputs of `input_bytes` in all (None: unknown).

    Grows with the input without bound, so that the candidates meeting at one bucket do not
    grow with the crawl (90,000 WAT files: 2,880,000 buckets of ~15,000 candidates).
    """
    by_bytes = -(-input_bytes // BYTES_PER_BUCKET) if input_bytes else 0
    return max(DEFAULT_BUCKETS, BUCKETS_PER_FILE * n_files, by_bytes)


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


class HoldByBucketDoFn(SpillingHoldingDoFn):
    """CandidateBatches -> (bucket, CandidateBatch) with each uid once per emitted batch.

    With `spill_dir` the emitted batches are references to a spill file (pipeline/spill.py).
    """

    def __init__(self, buckets: int, progress_dir: str | None = None, max_held: int = MAX_HELD,
                 spill_dir: str | None = None):
        super().__init__(progress_dir, spill_dir)
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
        sizes = Metrics.distribution(METRICS_NAMESPACE, BATCH_SIZE_METRIC)
        for bucket, survivors in self._held.items():
            sizes.update(len(survivors))
            batch = CandidateBatch(survivors.values())
            yield bucket, (self._spiller.spill(batch) if self._spiller is not None else batch)
        self._held = {}
        self._n_held = 0


class EmitSurvivorsDoFn(CountingDoFn):
    """(bucket, its batches) -> CandidateBatches of one survivor per uid."""

    def process(self, bucket_and_batches):
        _, batches = bucket_and_batches
        # The batches are read one at a time (a runner may page a large group in lazily); only
        # the bucket's distinct uids are held.
        met = 0

        def candidates():
            nonlocal met
            for batch in batches:
                met += len(batch)
                yield from batch.candidates

        survivors, duplicates = keep_one_per_uid(candidates())
        Metrics.distribution(METRICS_NAMESPACE, BUCKET_SIZE_METRIC).update(met)
        if duplicates:
            self.count("drop_duplicate", duplicates)
        self.count(UNIQUE, len(survivors))
        yield from chunked(survivors)


class DedupByUid(beam.PTransform):
    """CandidateBatches -> (batches of one candidate per uid, counts)."""

    def __init__(self, progress_dir: str | None = None, buckets: int = DEFAULT_BUCKETS, max_held: int = MAX_HELD,
                 spill_dir: str | None = None):
        super().__init__()
        if buckets < 1:
            raise ValueError(f"dedup needs at least one bucket, not {buckets}")
        self._progress_dir = progress_dir
        self._buckets = buckets
        self._max_held = max_held
        self._spill_dir = spill_dir

    def expand(self, candidates):
        held = candidates | "HoldByBucket" >> beam.ParDo(
            HoldByBucketDoFn(self._buckets, self._progress_dir, self._max_held, self._spill_dir)) \
            .with_output_types(tuple[int, CandidateBatch]).with_outputs(COUNTS_TAG, main="held")
        survivors = (
            held.held
            | "GroupBuckets" >> beam.GroupByKey()
            | "EmitSurvivors" >> beam.ParDo(EmitSurvivorsDoFn(self._progress_dir))
            .with_output_types(CandidateBatch).with_outputs(COUNTS_TAG, main="kept")
        )
        counts = (held[COUNTS_TAG], survivors[COUNTS_TAG]) | "DedupCounts" >> beam.Flatten()
        return survivors.kept, counts
