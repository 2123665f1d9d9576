"""The per-query cap in one process, one (query, candidate) pair at a time: the reference the
bulk numpy code of wit.pipeline.cap (and its Beam stage) is checked against."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable

from wit.pipeline.cap import cap_rank, mix64, query_salt


def selected_by(candidate: dict, thresholds: dict[int, int], seed: int, salts: dict[int, int] | None = None) -> list[int]:
    """The queries (of the candidate's matches) that select it, given the thresholds.

    `salts` caches query_salt per query across calls.
    """
    matches = candidate["matches"]
    capped = [query_id for query_id in matches if query_id in thresholds]
    if not capped:  # most candidates: none of their queries reached the cap
        return list(matches)
    chosen = [query_id for query_id in matches if query_id not in thresholds]
    uid_bits = int(candidate["uid"], 16)
    for query_id in capped:
        salt = salts.get(query_id) if salts is not None else None
        if salt is None:
            salt = query_salt(seed, query_id)
            if salts is not None:
                salts[query_id] = salt
        if ((mix64(uid_bits ^ salt) << 64) | uid_bits) <= thresholds[query_id]:
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
