"""No shuffled value grows with the crawl: dedup buckets scale with the input, and a hot query
ships at most `cap` ranks per shuffled value however many candidates match it."""

import random

import apache_beam as beam
import numpy as np
import pytest

from cap_reference import select_per_query
from wit.core.records import new_candidate
from wit.core.runner import make_pipeline_options, make_runner
from wit.pipeline.batches import BatchCandidates, UnbatchCandidates
from wit.pipeline.build import largest_shuffled
from wit.pipeline.cap import CapPerQuery, MergeQueryRanks, QueryRanks, match_pairs
from wit.pipeline.dedup import BUCKETS_PER_FILE, DedupByUid, buckets_for_input, uid_bucket

CAP = 25
SEED = 3


def test_candidates_per_dedup_bucket_stay_flat_as_the_input_grows():
    """Same candidates per file, 1 to 10,000 files: the fullest bucket does not grow with the
    files (with the old ceiling of 65,536 buckets it held ~40 at 10,000 files, not ~15)."""
    rng = np.random.default_rng(0)
    per_file = 4 * BUCKETS_PER_FILE  # four candidates a bucket on average
    fullest = {}
    for files in (1, 300, 10_000):
        buckets = buckets_for_input(files)
        uids = rng.integers(0, 2**63, per_file * files, dtype=np.uint64)
        loads = np.bincount([uid_bucket(f"{uid:016x}", buckets) for uid in uids.tolist()], minlength=buckets)
        fullest[files] = int(loads.max())
    assert fullest[10_000] <= fullest[300] + 4, fullest
    assert fullest[10_000] < 25, fullest  # Poisson(4) over 320,000 buckets: the maximum is about 15


def hot_candidates(n: int, rng: random.Random) -> list[dict]:
    """Query 0 in every candidate (n matches, far over the cap), query 1 in a third, 2..9 rare."""
    candidates = []
    for i in range(n):
        candidate = new_candidate(f"https://example.com/{i}.jpg", f"hot caption {i}", source=f"s#{i}")
        candidate["matches"] = sorted({0} | ({1} if i % 3 == 0 else set()) | {2 + rng.randrange(8)})
        candidates.append(candidate)
    return candidates


def test_a_hot_query_ships_at_most_cap_ranks_per_partial_and_per_merge():
    rng = random.Random(1)
    candidates = hot_candidates(4000, rng)
    # Ten workers' partials, each over its own slice: query 0 matched 400 times in each.
    partials = [QueryRanks.from_pairs(*match_pairs(candidates[i::10]), SEED, CAP) for i in range(10)]
    for partial in partials:
        assert partial.most_ranks_of_one_query() == CAP
        assert len(partial) <= CAP * 10  # ten queries at most, each cut at the cap
        for bucket, part in partial.by_bucket(4).items():
            assert set((part.query_ids % 4).tolist()) <= {bucket} and set((part.count_ids % 4).tolist()) <= {bucket}
            assert list(zip(part.query_ids, part.priorities, part.uid_bits)) == sorted(
                zip(part.query_ids, part.priorities, part.uid_bits))
    combine = MergeQueryRanks(CAP)
    accumulator = combine.create_accumulator()
    for partial in partials:
        accumulator = combine.add_input(accumulator, partial)
    merged = combine.extract_output(accumulator)
    assert merged.match_counts()[0] == 4000
    assert merged.most_ranks_of_one_query() == CAP
    # The merged ranks give the same cap as ranking every pair at once.
    whole = QueryRanks.from_pairs(*match_pairs(candidates), SEED, CAP)
    assert merged.thresholds(CAP) == whole.thresholds(CAP)


def test_by_bucket_splits_a_partial_into_sorted_parts_that_add_up():
    rng = random.Random(2)
    ranks = QueryRanks.from_pairs(*match_pairs(hot_candidates(500, rng)), SEED, CAP)
    parts = ranks.by_bucket(3)
    assert sum(len(part) for part in parts.values()) == len(ranks)
    assert QueryRanks.merge(list(parts.values()), CAP).match_counts() == ranks.match_counts()
    assert all(np.all(np.diff(part.count_ids) > 0) for part in parts.values())


@pytest.mark.slow
def test_beam_run_keeps_every_shuffled_value_bounded_for_a_hot_query_and_a_hot_duplicate(tmp_path):
    """A small Beam run: a query matched 3,000 times and a uid copied 600 times over many batches.
    The job's own shuffle-size metrics stay at the cap (cap) and at the bucket's share (dedup),
    and the result is still exactly the reference cap."""
    rng = random.Random(4)
    candidates = hot_candidates(3000, rng)
    logo = new_candidate("https://example.com/logo.png", "hot logo", source="logo")
    logo["matches"] = [0]
    copies = [dict(logo, source=f"logo#{i:03d}") for i in range(600)]
    data = candidates + copies
    rng.shuffle(data)
    buckets, max_held = 16, 200
    options = make_pipeline_options(["--direct_running_mode=in_memory", "--direct_num_workers=1"])
    pipeline = beam.Pipeline(runner=make_runner(options), options=options)
    batches = pipeline | beam.Create(data, reshuffle=True) | BatchCandidates(50)
    unique, _ = batches | DedupByUid(buckets=buckets, max_held=max_held)
    kept, _ = unique | CapPerQuery(CAP, SEED)
    out = str(tmp_path / "kept")
    _ = (kept | UnbatchCandidates() | beam.Map(lambda c: f"{c['uid']} {','.join(map(str, c['selected_by']))}")
         | beam.io.WriteToText(out))
    result = pipeline.run()
    result.wait_until_finish()
    largest = largest_shuffled(result)

    assert largest["cap_query_ranks"] <= CAP  # query 0 matched 3,001 times
    assert largest["cap_bucket_ranks"] <= CAP * 10  # ten queries, each at most the cap
    assert largest["dedup_batch_candidates"] <= max_held
    # A bucket meets its share of the 3,001 unique uids (~190), plus at most one copy of the
    # logo per flush (each worker deduplicates what it holds before it ships it).
    flushes = len(data) // max_held + 1
    assert largest["dedup_bucket_candidates"] <= 3001 // buckets * 2 + flushes

    got = {}
    for path in tmp_path.glob("kept*"):
        for line in path.read_text().splitlines():
            uid, ids = line.split(" ")
            got[uid] = sorted(int(i) for i in ids.split(","))
    assert got == select_per_query(candidates + [logo], CAP, SEED)
