"""Stage 5: the exact per-query cap.

Each query ranks the candidates that match it by a seeded hash of (query id, uid) and selects
the `cap` lowest; a candidate is kept when at least one query selected it, and records which
did in `selected_by`. Hashing instead of sampling makes the choice a pure function of
(candidates, cap, seed): the same on any runner, any number of workers, any input order, and
never more than `cap` per query. A per-(query, uid) hash rather than a per-uid one lets each
query draw its own sample, so a candidate that loses in one query can still win in another.

In Beam this is two passes over the matched CandidateBatches, with no per-match elements:

1. Thresholds. Each worker ranks its (query, candidate) pairs in bulk with numpy
   (`QueryRanks.from_pairs`: a sort by (query, rank) and a cut at `cap` per query) and emits,
   per query bucket (query id modulo QUERY_BUCKETS), one `QueryRanks` of arrays: every query's
   match count and its `cap` lowest ranks, once per bundle (or sooner, past a memory bound). A
   combine per bucket merges them the same way (`QueryRanks.merge`); a query matched more than
   `cap` times gets a threshold: its cap-th lowest rank. Only those queries are in the result,
   so it is small (at most matches / cap entries).
2. Selection. A ParDo reads the thresholds as a side input: query q selects candidate c when q
   has no threshold or rank(q, c) <= threshold[q].

On the local runner (`spill_dir` set) the partials and the held candidates travel through their
shuffles as references to spill files (pipeline/spill.py), and the partials of a bucket meet in
a GroupByKey and are merged one at a time (`MergeSpilledRanksDoFn`) instead of in the lifted
combine, whose merged accumulators would cross the local runner's shuffle whole.

No shuffled value grows with the crawl: a partial holds at most `cap` ranks of any query (a
query matched a million times ships its `cap` lowest ranks per flush, not its matches), and a
merged bucket at most `cap` per query of the bucket, whatever the input size. The sizes are
Beam distributions (namespace `wit`): `cap_partial_ranks` per shuffled partial,
`cap_query_ranks` the most ranks of one query in one partial, `cap_bucket_ranks` per merged
bucket.

Ranks are `priority << 64 | uid` (uid is 64 hex bits and unique after dedup), so they are
totally ordered without ties and each one is a single int. The priority is the splitmix64
finaliser of the uid xor a per-(seed, query) salt: pure integer arithmetic, identical on every
machine, and about half the cost of a cryptographic hash per (query, candidate) pair, which is
the most frequent operation of the stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from wit.pipeline import DEFAULT_PER_QUERY_CAP
from wit.pipeline.batches import CandidateBatch
from wit.pipeline.counting import COUNTS_TAG, METRICS_NAMESPACE, CountingDoFn
from wit.pipeline.spill import SpillingHoldingDoFn, spill_batches

# (query, uid) pairs a worker holds before ranking and flushing them (16 bytes each).
MAX_HELD_RANKS = 1_000_000
# Rank partials are combined per query bucket: one element per bucket per flush, not per query.
# A merged bucket holds at most `cap` ranks of each of its queries (500,000 queries: ~490 per
# bucket, so never above ~10M ranks however large the crawl; a few hundred thousand in practice).
QUERY_BUCKETS = 1024
# Shuffle sizes, as Beam distributions (namespace wit).
PARTIAL_SIZE_METRIC = "cap_partial_ranks"
QUERY_RANKS_METRIC = "cap_query_ranks"
BUCKET_SIZE_METRIC = "cap_bucket_ranks"


_MASK64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """splitmix64's finaliser: a bijective 64-bit mix whose output bits all depend on every input bit."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def query_salt(seed: int, query_id: int) -> int:
    return mix64(((seed & 0xFFFFFFFF) << 32) ^ query_id)


def cap_rank(seed: int, query_id: int, uid: str) -> int:
    """The rank of a candidate within one query: lower wins; unique per uid.

    The definition, one pair at a time; the stage computes it in bulk (priority_array) and
    tests/cap_reference.py checks the two against each other.
    """
    uid_bits = int(uid, 16)
    return (mix64(uid_bits ^ query_salt(seed, query_id)) << 64) | uid_bits


def mix64_array(values: np.ndarray) -> np.ndarray:
    """mix64 over a uint64 array (numpy's uint64 arithmetic wraps modulo 2**64, as the & does)."""
    values = values + np.uint64(0x9E3779B97F4A7C15)
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def match_pairs(candidates: Iterable[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The (query id, uid bits) of every match of `candidates`, as an int64 and a uint64 array."""
    candidates = list(candidates)
    lengths = [len(candidate["matches"]) for candidate in candidates]
    query_ids = np.fromiter(chain.from_iterable(candidate["matches"] for candidate in candidates),
                            dtype=np.int64, count=sum(lengths))
    uid_bits = np.array([int(candidate["uid"], 16) for candidate in candidates], dtype=np.uint64)
    return query_ids, np.repeat(uid_bits, lengths)


def priority_array(seed: int, query_ids: np.ndarray, uid_bits: np.ndarray) -> np.ndarray:
    """The rank priority (cap_rank >> 64) of each (query, uid) pair, in bulk."""
    salts = mix64_array((np.uint64(seed & 0xFFFFFFFF) << np.uint64(32)) ^ query_ids.astype(np.uint64))
    return mix64_array(uid_bits ^ salts)


class CapThresholds:
    """The thresholds ({query: cap-th lowest rank}) as sorted arrays, to select a batch in bulk."""

    def __init__(self, thresholds: dict[int, int]):
        ids = sorted(thresholds)
        self.query_ids = np.array(ids, dtype=np.int64)
        self.priorities = np.array([thresholds[query_id] >> 64 for query_id in ids], dtype=np.uint64)
        self.uid_bits = np.array([thresholds[query_id] & _MASK64 for query_id in ids], dtype=np.uint64)


def selected_by_batch(candidates: list[dict], thresholds: CapThresholds, seed: int) -> list[list[int]]:
    """The queries that select each candidate of a batch (its `selected_by`), ranks computed in bulk."""
    if not len(thresholds.query_ids):
        return [list(candidate["matches"]) for candidate in candidates]
    query_ids, uid_bits = match_pairs(candidates)
    at = np.minimum(np.searchsorted(thresholds.query_ids, query_ids), len(thresholds.query_ids) - 1)
    capped = thresholds.query_ids[at] == query_ids
    priorities = priority_array(seed, query_ids, uid_bits)
    threshold_priorities, threshold_uids = thresholds.priorities[at], thresholds.uid_bits[at]
    # rank <= threshold, with rank = priority << 64 | uid compared as the pair (priority, uid).
    keep = (~capped | (priorities < threshold_priorities)
            | ((priorities == threshold_priorities) & (uid_bits <= threshold_uids)))
    # Most candidates keep every match (their queries are under the cap): count the kept matches
    # per candidate in bulk and build a list only for the others.
    lengths = np.fromiter((len(candidate["matches"]) for candidate in candidates), dtype=np.int64, count=len(candidates))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    # The appended 0 keeps every start a valid index when the last candidates have no matches
    # (reduceat's value for an empty segment is unused: those get [] below).
    kept_per_candidate = np.add.reduceat(np.append(keep, False).astype(np.int64), starts).tolist()
    query_list = query_ids.tolist()
    keep_list = keep.tolist()
    chosen = []
    for candidate, start, length, kept in zip(candidates, starts.tolist(), lengths.tolist(), kept_per_candidate):
        if length and kept == length:
            chosen.append(list(candidate["matches"]))
        elif not kept or not length:
            chosen.append([])
        else:
            end = start + length
            chosen.append([query_id for query_id, keep_it in zip(query_list[start:end], keep_list[start:end]) if keep_it])
    return chosen


def _run_starts(sorted_ids: np.ndarray) -> np.ndarray:
    """Index of the first element of each run of equal values in a sorted array."""
    return np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1]))) if len(sorted_ids) else \
        np.zeros(0, dtype=np.int64)


@dataclass
class QueryRanks:
    """Per query: how many candidates matched it, and its `cap` lowest ranks, as flat arrays.

    `count_ids`/`counts`: sorted query ids and their match counts (every match, not only the
    ranks held). `query_ids`/`priorities`/`uid_bits`: the lowest ranks, sorted by (query,
    priority, uid), at most `cap` per query; a rank is `priority << 64 | uid`.
    """

    count_ids: np.ndarray
    counts: np.ndarray
    query_ids: np.ndarray
    priorities: np.ndarray
    uid_bits: np.ndarray

    @classmethod
    def from_pairs(cls, query_ids: np.ndarray, uid_bits: np.ndarray, seed: int, cap: int) -> QueryRanks:
        priorities = priority_array(seed, query_ids, uid_bits)
        count_ids, counts = np.unique(query_ids, return_counts=True)
        return cls(count_ids, counts.astype(np.int64), *_lowest_per_query(query_ids, priorities, uid_bits, cap))

    @classmethod
    def merge(cls, parts: list[QueryRanks], cap: int) -> QueryRanks:
        if len(parts) == 1:
            return parts[0]
        count_ids = np.concatenate([part.count_ids for part in parts])
        counts = np.concatenate([part.counts for part in parts])
        order = np.argsort(count_ids, kind="stable")
        count_ids, counts = count_ids[order], counts[order]
        starts = _run_starts(count_ids)
        summed = np.add.reduceat(counts, starts) if len(starts) else counts
        return cls(count_ids[starts], summed, *_lowest_per_query(
            np.concatenate([part.query_ids for part in parts]),
            np.concatenate([part.priorities for part in parts]),
            np.concatenate([part.uid_bits for part in parts]), cap))

    def __len__(self) -> int:
        return len(self.query_ids)

    def most_ranks_of_one_query(self) -> int:
        """The most ranks any one query holds here (never above the cap they were cut at)."""
        starts = _run_starts(self.query_ids)
        return int(np.diff(np.append(starts, len(self.query_ids))).max()) if len(starts) else 0

    def by_bucket(self, buckets: int) -> dict[int, QueryRanks]:
        """This partial split by query bucket (query id modulo `buckets`), each part still sorted.

        One stable sort by bucket and a cut per bucket: a boolean mask per bucket would cost
        buckets x pairs.
        """
        count_order = np.argsort(self.count_ids % buckets, kind="stable")
        rank_order = np.argsort(self.query_ids % buckets, kind="stable")
        count_buckets = (self.count_ids % buckets)[count_order]
        rank_buckets = (self.query_ids % buckets)[rank_order]
        present = np.unique(count_buckets)
        count_cuts = np.searchsorted(count_buckets, present, "left"), np.searchsorted(count_buckets, present, "right")
        rank_cuts = np.searchsorted(rank_buckets, present, "left"), np.searchsorted(rank_buckets, present, "right")
        parts = {}
        for bucket, count_lo, count_hi, rank_lo, rank_hi in zip(present.tolist(), *(cut.tolist() for cut in count_cuts),
                                                                *(cut.tolist() for cut in rank_cuts)):
            in_counts, in_ranks = count_order[count_lo:count_hi], rank_order[rank_lo:rank_hi]
            parts[bucket] = QueryRanks(self.count_ids[in_counts], self.counts[in_counts], self.query_ids[in_ranks],
                                       self.priorities[in_ranks], self.uid_bits[in_ranks])
        return parts

    def thresholds(self, cap: int) -> list[tuple[int, int]]:
        """(query, its cap-th lowest rank) for every query matched more than `cap` times."""
        over = self.count_ids[self.counts > cap]
        if not len(over):
            return []
        starts = _run_starts(self.query_ids)
        start_of = dict(zip(self.query_ids[starts].tolist(), starts.tolist()))
        result = []
        for query_id in over.tolist():
            last = start_of[query_id] + cap - 1
            result.append((query_id, (int(self.priorities[last]) << 64) | int(self.uid_bits[last])))
        return result

    def match_counts(self) -> dict[int, int]:
        return dict(zip(self.count_ids.tolist(), self.counts.tolist()))


def _lowest_per_query(query_ids, priorities, uid_bits, cap: int):
    """The pairs sorted by (query, priority, uid), cut to the first `cap` of each query."""
    order = np.lexsort((uid_bits, priorities, query_ids))
    query_ids, priorities, uid_bits = query_ids[order], priorities[order], uid_bits[order]
    starts = _run_starts(query_ids)
    if len(query_ids):
        run_start = np.repeat(starts, np.diff(np.append(starts, len(query_ids))))
        keep = (np.arange(len(query_ids)) - run_start) < cap
        query_ids, priorities, uid_bits = query_ids[keep], priorities[keep], uid_bits[keep]
    return query_ids, priorities, uid_bits


class QueryRanksDoFn(SpillingHoldingDoFn):
    """Per worker: (query bucket, QueryRanks) for the matches it saw, flushed per bundle.

    The (query, uid) pairs are collected in flat arrays and ranked in bulk with numpy when the
    bundle ends (or MAX_HELD_RANKS pairs are held), instead of a hash and a heap operation per
    pair in Python. With `spill_dir` (local runs) each partial is emitted as a SpilledValue
    (pipeline/spill.py).
    """

    def __init__(self, cap: int, seed: int, buckets: int = QUERY_BUCKETS, spill_dir: str | None = None):
        super().__init__(spill_dir=spill_dir)
        self._cap = cap
        self._seed = seed
        self._buckets = buckets

    def reset_held(self):
        self._query_ids: list[np.ndarray] = []
        self._uid_bits: list[np.ndarray] = []
        self._held = 0

    def hold(self, batch: CandidateBatch):
        query_ids, uid_bits = match_pairs(batch.candidates)
        self._query_ids.append(query_ids)
        self._uid_bits.append(uid_bits)
        self._held += len(query_ids)

    def is_full(self):
        return self._held >= MAX_HELD_RANKS

    def flush(self):
        """(query bucket, QueryRanks) for every bucket with matches since the last flush."""
        if not self._held:
            return
        ranks = QueryRanks.from_pairs(np.concatenate(self._query_ids), np.concatenate(self._uid_bits),
                                      self._seed, self._cap)
        self._query_ids, self._uid_bits, self._held = [], [], 0
        sizes = Metrics.distribution(METRICS_NAMESPACE, PARTIAL_SIZE_METRIC)
        per_query = Metrics.distribution(METRICS_NAMESPACE, QUERY_RANKS_METRIC)
        for bucket, part in ranks.by_bucket(self._buckets).items():
            sizes.update(len(part))
            per_query.update(part.most_ranks_of_one_query())
            yield bucket, (self._spiller.spill_value(part) if self._spiller is not None else part)


class MergeQueryRanks(beam.CombineFn):
    """QueryRanks partials of one query bucket -> one QueryRanks (total counts, `cap` lowest ranks)."""

    # Partials held before they are merged: bounds the accumulator without a sort per input.
    _MERGE_AT = 16

    def __init__(self, cap: int):
        self._cap = cap

    def create_accumulator(self):
        return []

    def add_input(self, accumulator, partial):
        accumulator.append(partial)
        if len(accumulator) >= self._MERGE_AT:
            accumulator[:] = [QueryRanks.merge(accumulator, self._cap)]
        return accumulator

    def merge_accumulators(self, accumulators):
        parts = [partial for accumulator in accumulators for partial in accumulator]
        return [QueryRanks.merge(parts, self._cap)] if parts else []

    def compact(self, accumulator):
        return [QueryRanks.merge(accumulator, self._cap)] if len(accumulator) > 1 else accumulator

    def extract_output(self, accumulator):
        if not accumulator:
            empty = np.zeros(0, dtype=np.int64)
            return QueryRanks(empty, empty, empty, empty.astype(np.uint64), empty.astype(np.uint64))
        return QueryRanks.merge(accumulator, self._cap)


class MergeSpilledRanksDoFn(beam.DoFn):
    """(bucket, its spilled QueryRanks partials) -> (bucket, merged QueryRanks), as MergeQueryRanks
    merges them, reading the partials back one at a time (local runs, pipeline/spill.py)."""

    def __init__(self, cap: int):
        self._cap = cap

    def process(self, bucket_and_partials):
        bucket, partials = bucket_and_partials
        merge = MergeQueryRanks(self._cap)
        accumulator = merge.create_accumulator()
        for spilled in partials:
            accumulator = merge.add_input(accumulator, spilled.load())
        yield bucket, merge.extract_output(accumulator)


def _measure_bucket(bucket_and_ranks):
    Metrics.distribution(METRICS_NAMESPACE, BUCKET_SIZE_METRIC).update(len(bucket_and_ranks[1]))
    return bucket_and_ranks


class ApplyCapDoFn(CountingDoFn):
    def __init__(self, seed: int, progress_dir: str | None = None):
        super().__init__(progress_dir)
        self._seed = seed

    def setup(self):
        super().setup()
        # (id of the side-input dict, its arrays, the dict itself: held so that its id stays unique)
        self._thresholds: tuple[int, CapThresholds, dict] | None = None

    def _arrays(self, thresholds: dict) -> CapThresholds:
        """The side input as arrays, converted once per side-input value, not per batch."""
        if self._thresholds is None or self._thresholds[0] != id(thresholds):
            self._thresholds = (id(thresholds), CapThresholds(thresholds), thresholds)
        return self._thresholds[1]

    def process(self, batch: CandidateBatch, thresholds: dict):
        kept = []
        candidates = batch.candidates
        for candidate, chosen in zip(candidates, selected_by_batch(candidates, self._arrays(thresholds), self._seed)):
            if chosen:
                candidate["selected_by"] = sorted(chosen)
                kept.append(candidate)
        if len(kept) < len(batch):
            self.count("drop_cap", len(batch) - len(kept))
        if kept:
            yield CandidateBatch(kept)


class CapPerQuery(beam.PTransform):
    """matched CandidateBatches (unique uids) -> (batches of kept candidates with selected_by, counts).

    `self.match_counts` (set by expand) is a PCollection of {query id: candidates matching it
    before the cap} dicts (one per query bucket), for the per-query report.
    """

    def __init__(self, cap: int = DEFAULT_PER_QUERY_CAP, seed: int = 0, progress_dir: str | None = None,
                 spill_dir: str | None = None):
        super().__init__()
        if cap < 1:
            raise ValueError(f"per-query cap must be at least 1, not {cap}")
        self._cap = cap
        self._seed = seed
        self._progress_dir = progress_dir
        self._spill_dir = spill_dir  # local runs: the held candidates wait on disk (pipeline/spill.py)
        self.match_counts = None

    def expand(self, candidates):
        cap = self._cap
        partials = candidates | "RanksPerWorker" >> beam.ParDo(QueryRanksDoFn(cap, self._seed, spill_dir=self._spill_dir))
        if self._spill_dir:
            # Local runs: the partials wait on disk and meet by bucket, read back one at a time;
            # a combiner's partial merges would travel whole through the local runner's shuffle.
            per_bucket = partials | "GroupRanks" >> beam.GroupByKey() | "MergeRanks" >> beam.ParDo(
                MergeSpilledRanksDoFn(cap))
        else:
            per_bucket = partials | "MergeRanks" >> beam.CombinePerKey(MergeQueryRanks(cap))
        per_bucket = per_bucket | "MeasureBuckets" >> beam.Map(_measure_bucket)
        self.match_counts = per_bucket | "MatchCounts" >> beam.Map(lambda item: item[1].match_counts())
        thresholds = per_bucket | "Thresholds" >> beam.FlatMap(lambda item: item[1].thresholds(cap))
        # The candidates wait for the thresholds in a shuffle, which the local runner hands to
        # each worker as one block. Read straight from the match stage, they reach the selection
        # as many ~10 MB chunks per worker, and under CPU overload the local runner with worker
        # processes lost whole chunks of them on that path (docs/pipeline.md, "Known problem").
        # On the local runner they wait as references to a spill file (pipeline/spill.py), so the
        # block is ~100 bytes per batch, not the batches.
        held = spill_batches(candidates, self._spill_dir, "SpillForSelection") | "HoldForSelection" >> beam.Reshuffle()
        outputs = held | "ApplyCap" >> beam.ParDo(
            ApplyCapDoFn(self._seed, self._progress_dir), beam.pvalue.AsDict(thresholds)) \
            .with_output_types(CandidateBatch).with_outputs(COUNTS_TAG, main="kept")
        return outputs.kept, outputs[COUNTS_TAG]
