"""Stage 5: the exact per-query cap.

Each query ranks the candidates that match it by a seeded hash of (query id, uid) and selects
the `cap` lowest; a candidate is kept when at least one query selected it, and records which
did in `selected_by`. Hashing instead of sampling makes the choice a pure function of
(candidates, cap, seed): the same on any runner, any number of workers, any input order, and
never more than `cap` per query. A per-(query, uid) hash rather than a per-uid one lets each
query draw its own sample, so a candidate that loses in one query can still win in another.

At scale this is one Top-N combine per query (lifted, so each worker pre-selects its own `cap`
before the shuffle) and a join back to the candidates by uid.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator

import apache_beam as beam

from pipeline.counting import COUNTS_TAG, CountingDoFn

DEFAULT_PER_QUERY_CAP = 20000


def cap_priority(seed: int, query_id: int, uid: str) -> int:
    """The rank of a candidate within one query: lower wins. Stable across machines."""
    digest = hashlib.blake2b(f"{seed}:{query_id}:{uid}".encode("ascii"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def query_votes(candidate: dict, seed: int) -> Iterator[tuple[int, tuple[int, str]]]:
    """(query id, (priority, uid)) for every query the candidate matches."""
    uid = candidate["uid"]
    for query_id in candidate["matches"]:
        yield query_id, (cap_priority(seed, query_id, uid), uid)


def select_per_query(candidates: Iterable[dict], cap: int, seed: int) -> dict[str, list[int]]:
    """Reference implementation of the cap in one process: uid -> sorted ids of selecting queries.

    The Beam stage computes exactly this; tests compare the two.
    """
    ranked: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for candidate in candidates:
        for query_id, ranked_uid in query_votes(candidate, seed):
            ranked[query_id].append(ranked_uid)
    selected: dict[str, list[int]] = defaultdict(list)
    for query_id, entries in ranked.items():
        for _, uid in heapq.nsmallest(cap, entries):
            selected[uid].append(query_id)
    return {uid: sorted(ids) for uid, ids in selected.items()}


class ApplySelectionDoFn(CountingDoFn):
    def process(self, uid_and_groups):
        _, groups = uid_and_groups
        selected_by = sorted(set(groups["selected_by"]))
        for candidate in groups["candidate"]:  # exactly one after dedup
            if selected_by:
                candidate["selected_by"] = selected_by
                yield candidate
            else:
                self.count("drop_cap")


class CapPerQuery(beam.PTransform):
    """matched candidates (unique uids) -> (kept candidates with selected_by, counts)."""

    def __init__(self, cap: int = DEFAULT_PER_QUERY_CAP, seed: int = 0, progress_dir: str | None = None):
        super().__init__()
        if cap < 1:
            raise ValueError(f"per-query cap must be at least 1, not {cap}")
        self._cap = cap
        self._seed = seed
        self._progress_dir = progress_dir

    def expand(self, candidates):
        seed = self._seed
        selections = (
            candidates
            | "Votes" >> beam.FlatMap(query_votes, seed)
            | "LowestPerQuery" >> beam.combiners.Top.SmallestPerKey(self._cap)
            | "SelectedUids" >> beam.FlatMap(lambda query_and_top: ((uid, query_and_top[0]) for _, uid in query_and_top[1]))
        )
        by_uid = candidates | "KeyByUid" >> beam.Map(lambda candidate: (candidate["uid"], candidate))
        outputs = (
            {"candidate": by_uid, "selected_by": selections}
            | "JoinSelections" >> beam.CoGroupByKey()
            | "ApplySelection" >> beam.ParDo(ApplySelectionDoFn(self._progress_dir)).with_outputs(COUNTS_TAG, main="kept")
        )
        return outputs.kept, outputs[COUNTS_TAG]
