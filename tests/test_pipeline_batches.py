"""Candidates in batches: the batch coder, dedup through uid buckets, the cap's rank partials, query tallies."""

import pickle
import random
from collections import Counter

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.coders import registry

from wit.pipeline.batches import BatchCandidates, CandidateBatch, CandidateBatchCoder, chunked
from cap_reference import select_per_query, selected_by
from wit.pipeline.cap import CapThresholds, QueryRanks, cap_rank, match_pairs, selected_by_batch
from wit.pipeline.dedup import DedupByUid, buckets_for_input, keep_one_per_uid, merge_duplicates, uid_bucket
from wit.pipeline.spill import BatchSpiller
from wit.pipeline.write import sum_tallies, tally_queries
from wit.core.records import new_candidate
from test_pipeline_cap import IN_MEMORY, TWO_PROCESSES, run_stage


def candidate(i: int, *, source: str = "", matches=()) -> dict:
    c = new_candidate(f"https://example.com/{i}.jpg", f"caption {i}", source=source or f"f.wat@{i}", text_field="alt")
    c["matches"] = list(matches)
    return c


def test_batch_coder_round_trip_keeps_bytes_until_read_and_sees_later_changes():
    coder = registry.get_coder(CandidateBatch)
    assert isinstance(coder, CandidateBatchCoder)
    batch = CandidateBatch([candidate(i, matches=[i % 3]) for i in range(5)])
    decoded = coder.decode(coder.encode(batch))
    assert decoded._candidates is None  # the local runner's decode + re-encode only copies bytes
    assert coder.encode(decoded) == coder.encode(batch)
    assert decoded == batch and len(decoded) == 5
    decoded.candidates[0]["text"] = "changed"  # a stage mutates the dicts it read ...
    assert coder.decode(coder.encode(decoded)).candidates[0]["text"] == "changed"  # ... and that is what travels on
    assert pickle.loads(pickle.dumps(decoded)) == decoded


def test_a_spilled_batch_travels_as_a_reference_and_reads_back_its_candidates(tmp_path):
    coder = registry.get_coder(CandidateBatch)
    spiller = BatchSpiller(str(tmp_path))
    batches = [CandidateBatch([candidate(10 * b + i, matches=[i]) for i in range(50)]) for b in range(3)]
    spilled = [spiller.spill(batch) for batch in batches]
    spiller.close()
    assert len(list(tmp_path.iterdir())) == 1  # one file per spiller, batches appended
    for batch, reference in zip(batches, spilled):
        encoded = coder.encode(reference)
        assert encoded[:1] == b"S" and len(encoded) == 17 + len(reference.spilled.path.encode())
        assert len(encoded) * 10 < len(coder.encode(batch))
        decoded = coder.decode(encoded)
        assert decoded.spilled == reference.spilled
        assert pickle.loads(pickle.dumps(decoded)).spilled == reference.spilled  # pickled: still a reference
        assert decoded.candidates == batch.candidates and decoded.spilled is None  # read back on first use
        assert coder.encode(decoded) == coder.encode(batch)  # read, it travels as a plain batch again
    assert coder.decode(coder.encode(batches[0])).spilled is None  # a batch that was not spilled: as before


def test_a_spilled_value_round_trips_and_a_truncated_spill_file_fails_clearly(tmp_path):
    spiller = BatchSpiller(str(tmp_path))
    ranks = QueryRanks.from_pairs(np.array([1, 1, 2], dtype=np.int64), np.array([5, 9, 5], dtype=np.uint64), 0, 10)
    value = pickle.loads(pickle.dumps(spiller.spill_value(ranks)))
    batch = spiller.spill(CandidateBatch([candidate(1)]))
    spiller.close()
    loaded = value.load()
    assert loaded.match_counts() == {1: 2, 2: 1} and np.array_equal(loaded.uid_bits, ranks.uid_bits)
    path = batch.spilled.path
    with open(path, "r+b") as handle:
        handle.truncate(batch.spilled[1] + 3)
    with pytest.raises(OSError, match="truncated"):
        batch.candidates


def test_chunked_keeps_every_candidate_in_order():
    candidates = [candidate(i) for i in range(25)]
    batches = list(chunked(candidates, 10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [c for b in batches for c in b] == candidates


def test_keep_one_per_uid_is_order_independent():
    data = [candidate(i % 7, source=f"s{i}", matches=[i % 4]) for i in range(30)]
    survivors, duplicates = keep_one_per_uid(data)
    assert duplicates == 30 - 7
    reversed_survivors, _ = keep_one_per_uid(list(reversed(data)))
    by_uid = {c["uid"]: c for c in survivors}
    assert by_uid == {c["uid"]: c for c in reversed_survivors}
    for c in by_uid.values():  # the smallest source survives, with the matches of every copy
        copies = [d for d in data if d["uid"] == c["uid"]]
        assert c["source"] == min(d["source"] for d in copies)
        assert c["matches"] == sorted({q for d in copies for q in d["matches"]})


def test_uid_buckets_scale_with_input_without_a_ceiling():
    assert buckets_for_input(0) == buckets_for_input(1) == 64
    assert buckets_for_input(100) == 3200
    assert buckets_for_input(90_000) == 2_880_000  # a full crawl: still ~15,000 candidates a bucket
    assert buckets_for_input(1, 10 * 2**30) == 2560  # one huge URL list: by size
    assert buckets_for_input(100, None) == buckets_for_input(100, 1000) == 3200
    assert uid_bucket("00000000000000ff", 16) == 15


@pytest.mark.slow
@pytest.mark.parametrize("beam_args", [IN_MEMORY, TWO_PROCESSES], ids=["one_worker", "two_workers"])
def test_dedup_through_buckets_matches_the_plain_function(tmp_path, beam_args):
    """Copies of a uid spread over many batches, flushes and workers still end as one survivor."""
    rng = random.Random(3)
    data = [candidate(rng.randrange(150), source=f"s{rng.randrange(1000):04d}", matches=[rng.randrange(5)])
            for _ in range(600)]
    kept, counts = run_stage(lambda: DedupByUid(buckets=3, max_held=40), data, tmp_path, beam_args, batch_size=9)
    expected, duplicates = keep_one_per_uid(data)
    assert {c["uid"]: c for c in kept} == {c["uid"]: c for c in expected}
    assert len(kept) == len(expected)
    assert counts["drop_duplicate"] == duplicates
    assert counts["unique"] == len(expected)


def test_query_ranks_merged_from_parts_equal_ranks_of_the_whole():
    rng = random.Random(5)
    cap, seed = 6, 11
    data = [candidate(i, matches=sorted(rng.sample(range(12), rng.randint(1, 4)))) for i in range(200)]
    whole = QueryRanks.from_pairs(*match_pairs(data), seed, cap)
    parts = [QueryRanks.from_pairs(*match_pairs(data[start:start + 17]), seed, cap) for start in range(0, 200, 17)]
    merged = QueryRanks.merge(parts, cap)
    for name in ("count_ids", "counts", "query_ids", "priorities", "uid_bits"):
        assert np.array_equal(getattr(merged, name), getattr(whole, name)), name
    assert merged.match_counts() == Counter(q for c in data for q in c["matches"])
    # Split by bucket and merged back per bucket: the same thresholds.
    by_bucket = {}
    for part in parts:
        for bucket, piece in part.by_bucket(4).items():
            by_bucket.setdefault(bucket, []).append(piece)
    thresholds = dict(t for pieces in by_bucket.values() for t in QueryRanks.merge(pieces, cap).thresholds(cap))
    assert thresholds == dict(whole.thresholds(cap))
    # The threshold is the cap-th lowest rank of the reference ranking, and selection reproduces the reference.
    for query_id, threshold in thresholds.items():
        ranks = sorted(cap_rank(seed, query_id, c["uid"]) for c in data if query_id in c["matches"])
        assert threshold == ranks[cap - 1]
    chosen = {c["uid"]: selected_by(c, thresholds, seed) for c in data}
    assert {uid: ids for uid, ids in chosen.items() if ids} == select_per_query(data, cap, seed)
    # Selecting a whole batch in bulk gives what the per-candidate function gives.
    assert selected_by_batch(data, CapThresholds(thresholds), seed) == [selected_by(c, thresholds, seed) for c in data]
    assert selected_by_batch(data, CapThresholds({}), seed) == [c["matches"] for c in data]
    # Candidates without matches, in the middle and at the end, select nothing.
    gappy = [data[0], candidate(10_001, matches=[]), *data[1:5], candidate(10_002, matches=[])]
    assert selected_by_batch(gappy, CapThresholds(thresholds), seed) == [selected_by(c, thresholds, seed) for c in gappy]


def test_query_tallies_count_every_id():
    data = [candidate(i, matches=[i % 3, 5]) for i in range(9)]
    for c in data:
        c["selected_by"] = [5]
    first, second = {}, {}
    tally_queries(data[:4], (("selected_by", "selected"), ("matches", "matches")), first)
    tally_queries(data[4:], (("selected_by", "selected"), ("matches", "matches")), second)
    total = sum_tallies([first, second])
    assert total["selected"] == Counter({5: 9})
    assert total["matches"] == Counter({0: 3, 1: 3, 2: 3, 5: 9})


def test_stages_pass_candidate_batches(tmp_path):
    pipeline = beam.Pipeline()
    batches = pipeline | beam.Create([candidate(1)]) | BatchCandidates()
    kept, _ = batches | DedupByUid()
    assert batches.element_type is CandidateBatch and kept.element_type is CandidateBatch
    assert isinstance(registry.get_coder(kept.element_type), CandidateBatchCoder)
    assert merge_duplicates(candidate(1, source="b"), candidate(1, source="a"))["source"] == "a"
