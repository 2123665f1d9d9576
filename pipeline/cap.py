"""Stage 5: the exact per-query cap.

Each query ranks the candidates that match it by a seeded hash of (query id, uid) and selects
the `cap` lowest; a candidate is kept when at least one query selected it, and records which
did in `selected_by`. Hashing instead of sampling makes the choice a pure function of
(candidates, cap, seed): the same on any runner, any number of workers, any input order, and
never more than `cap` per query. A per-(query, uid) hash rather than a per-uid one lets each
query draw its own sample, so a candidate that loses in one query can still win in another.

In Beam this is two passes over the matched candidates, with no per-match elements:

1. Thresholds. Each worker ranks its (query, candidate) pairs in bulk and keeps, per query,
   the `cap` lowest ranks and a match count, emitted as one `(query, (count, ranks))` element
   per query per bundle (or sooner, past a memory bound). A combine per query merges them; a
   query matched more than `cap` times gets a threshold: its cap-th lowest rank. Only those
   queries are in the result, so it is small (at most matches / cap entries).
2. Selection. A ParDo reads the thresholds as a side input: query q selects candidate c when q
   has no threshold or rank(q, c) <= threshold[q].

Ranks are `priority << 64 | uid` (uid is 64 hex bits and unique after dedup), so they are
totally ordered without ties and each one is a single int. The priority is the splitmix64
finaliser of the uid xor a per-(seed, query) salt: pure integer arithmetic, identical on every
machine, and about half the cost of a cryptographic hash per (query, candidate) pair, which is
the most frequent operation of the stage.
"""

from __future__ import annotations

import heapq
from array import array
from collections import defaultdict
from collections.abc import Iterable

import apache_beam as beam
import numpy as np
from apache_beam.transforms.window import GlobalWindows

from pipeline.counting import COUNTS_TAG, CountingDoFn

DEFAULT_PER_QUERY_CAP = 20000
# (query, uid) pairs a worker holds before ranking and flushing them (16 bytes each).
MAX_HELD_RANKS = 1_000_000


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
    """The rank of a candidate within one query: lower wins; unique per uid."""
    uid_bits = int(uid, 16)
    return (mix64(uid_bits ^ query_salt(seed, query_id)) << 64) | uid_bits


def mix64_array(values: np.ndarray) -> np.ndarray:
    """mix64 over a uint64 array (numpy's uint64 arithmetic wraps modulo 2**64, as the & does)."""
    values = values + np.uint64(0x9E3779B97F4A7C15)
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def selected_by(candidate: dict, thresholds: dict[int, int], seed: int, salts: dict[int, int] | None = None) -> list[int]:
    """The queries (of the candidate's matches) that select it, given the thresholds.

    `salts` caches query_salt per query across calls.
    """
    chosen = []
    uid_bits = None
    for query_id in candidate["matches"]:
        threshold = thresholds.get(query_id)
        if threshold is None:
            chosen.append(query_id)
            continue
        if uid_bits is None:
            uid_bits = int(candidate["uid"], 16)
        salt = salts.get(query_id) if salts is not None else None
        if salt is None:
            salt = query_salt(seed, query_id)
            if salts is not None:
                salts[query_id] = salt
        if ((mix64(uid_bits ^ salt) << 64) | uid_bits) <= threshold:
            chosen.append(query_id)
    return chosen


def select_per_query(candidates: Iterable[dict], cap: int, seed: int) -> dict[str, list[int]]:
    """Reference implementation of the cap in one process: uid -> sorted ids of selecting queries.

    Ranks every (query, candidate) pair directly; the Beam stage computes exactly this and tests
    compare the two.
    """
    ranked: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for candidate in candidates:
        for query_id in candidate["matches"]:
            ranked[query_id].append((cap_rank(seed, query_id, candidate["uid"]), candidate["uid"]))
    selected: dict[str, list[int]] = defaultdict(list)
    for query_id, entries in ranked.items():
        for _, uid in heapq.nsmallest(cap, entries):  # ranks are unique: the uid never decides
            selected[uid].append(query_id)
    return {uid: sorted(ids) for uid, ids in selected.items()}


class QueryRanksDoFn(beam.DoFn):
    """Per worker: each query's match count and `cap` lowest ranks, flushed per bundle.

    The (query, uid) pairs are collected in flat arrays and ranked in bulk with numpy when the
    bundle ends (or MAX_HELD_RANKS pairs are held): a sort by (query, rank) and a cut at `cap`
    per query, instead of a hash and a heap operation per pair in Python.
    """

    def __init__(self, cap: int, seed: int):
        self._cap = cap
        self._seed = seed

    def start_bundle(self):
        self._query_ids = array("q")
        self._uid_bits = array("Q")

    def process(self, candidate: dict):
        matches = candidate["matches"]
        self._query_ids.extend(matches)
        self._uid_bits.extend([int(candidate["uid"], 16)] * len(matches))
        if len(self._query_ids) >= MAX_HELD_RANKS:
            yield from self.flush()

    def finish_bundle(self):
        for query_and_value in self.flush():
            yield GlobalWindows.windowed_value(query_and_value)

    def flush(self):
        """(query, (matches seen, its lowest `cap` ranks)) for every query seen since the last flush."""
        if not self._query_ids:
            return
        query_ids = np.frombuffer(self._query_ids, dtype=np.int64)
        uid_bits = np.frombuffer(self._uid_bits, dtype=np.uint64)
        salts = mix64_array((np.uint64(self._seed & 0xFFFFFFFF) << np.uint64(32)) ^ query_ids.astype(np.uint64))
        priorities = mix64_array(uid_bits ^ salts)
        order = np.lexsort((uid_bits, priorities, query_ids))
        query_ids, priorities, uid_bits = query_ids[order], priorities[order], uid_bits[order]
        queries, starts, counts = np.unique(query_ids, return_index=True, return_counts=True)
        for query_id, start, count in zip(queries.tolist(), starts.tolist(), counts.tolist()):
            end = start + min(count, self._cap)
            ranks = [(priority << 64) | uid for priority, uid in
                     zip(priorities[start:end].tolist(), uid_bits[start:end].tolist())]
            yield query_id, (count, ranks)
        self._query_ids = array("q")
        self._uid_bits = array("Q")


class MergeQueryRanks(beam.CombineFn):
    """(count, ranks) partials of one query -> (total count, its `cap` lowest ranks)."""

    def __init__(self, cap: int):
        self._cap = cap

    def create_accumulator(self):
        return (0, [])

    def add_input(self, accumulator, partial):
        return self.merge_accumulators([accumulator, partial])

    def merge_accumulators(self, accumulators):
        total, ranks = 0, []
        for count, partial_ranks in accumulators:
            total += count
            ranks.extend(partial_ranks)
        return (total, heapq.nsmallest(self._cap, ranks) if len(ranks) > self._cap else ranks)

    def extract_output(self, accumulator):
        return accumulator


class ApplyCapDoFn(CountingDoFn):
    def __init__(self, seed: int, progress_dir: str | None = None):
        super().__init__(progress_dir)
        self._seed = seed

    def setup(self):
        super().setup()
        self._salts: dict[int, int] = {}

    def process(self, candidate: dict, thresholds: dict):
        chosen = selected_by(candidate, thresholds, self._seed, self._salts)
        if chosen:
            candidate["selected_by"] = sorted(chosen)
            yield candidate
        else:
            self.count("drop_cap")


class CapPerQuery(beam.PTransform):
    """matched candidates (unique uids) -> (kept candidates with selected_by, counts).

    `self.match_counts` (set by expand) is the PCollection of (query id, candidates matching
    it before the cap), for the per-query report.
    """

    def __init__(self, cap: int = DEFAULT_PER_QUERY_CAP, seed: int = 0, progress_dir: str | None = None):
        super().__init__()
        if cap < 1:
            raise ValueError(f"per-query cap must be at least 1, not {cap}")
        self._cap = cap
        self._seed = seed
        self._progress_dir = progress_dir
        self.match_counts = None

    def expand(self, candidates):
        cap = self._cap
        per_query = (
            candidates
            | "RanksPerWorker" >> beam.ParDo(QueryRanksDoFn(cap, self._seed))
            | "MergeRanks" >> beam.CombinePerKey(MergeQueryRanks(cap))
        )
        self.match_counts = per_query | "MatchCounts" >> beam.Map(lambda item: (item[0], item[1][0]))
        thresholds = per_query | "Thresholds" >> beam.FlatMap(
            lambda item: [(item[0], max(item[1][1]))] if item[1][0] > cap else [])
        outputs = candidates | "ApplyCap" >> beam.ParDo(
            ApplyCapDoFn(self._seed, self._progress_dir), beam.pvalue.AsDict(thresholds)).with_outputs(COUNTS_TAG, main="kept")
        return outputs.kept, outputs[COUNTS_TAG]
