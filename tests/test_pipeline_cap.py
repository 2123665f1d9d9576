"""The exact per-query cap and dedup: plain functions, and the Beam stages on 1 and 2 workers."""

import json
import random
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pytest

from wit.pipeline.batches import BatchCandidates, UnbatchCandidates
from cap_reference import select_per_query
from wit.pipeline.cap import CapPerQuery, cap_rank
from wit.pipeline.counting import counts_summary
from wit.pipeline.dedup import DedupByUid, merge_duplicates
from wit.core.runner import make_pipeline_options, make_runner
from wit.core.records import new_candidate

CAP = 40
SEED = 7


def make_candidates():
    """Query 0 is matched by 3x the cap; query 1 by half the cap; query 2 by 2x; overlaps on purpose."""
    candidates = []
    for i in range(3 * CAP):
        candidate = new_candidate(f"https://example.com/{i}.jpg", f"caption number {i}", source=f"s#{i}")
        candidate["matches"] = [0] + ([1] if i % 6 == 0 else []) + ([2] if i % 3 == 0 else [])
        candidates.append(candidate)
    for i in range(2 * CAP):
        candidate = new_candidate(f"https://example.org/{i}.jpg", f"other caption {i}", source=f"t#{i}")
        candidate["matches"] = [2]
        candidates.append(candidate)
    return candidates


def run_stage(transform_factory, candidates, out_dir: Path, beam_args, batch_size=7):
    """Runs Create -> batches -> stage -> json lines under out_dir; returns (kept dicts, summed counts).

    Small batches, so that a stage sees many of them, spread over the workers.
    """
    options = make_pipeline_options(beam_args)
    with beam.Pipeline(runner=make_runner(options), options=options) as pipeline:
        batches = pipeline | beam.Create(candidates, reshuffle=True) | BatchCandidates(batch_size)
        kept, counts = batches | transform_factory()
        kept | UnbatchCandidates() | "KeptJson" >> beam.Map(json.dumps, sort_keys=True) | "WriteKept" >> beam.io.WriteToText(str(out_dir / "kept"))
        (counts | beam.CombinePerKey(sum) | beam.Map(json.dumps)
         | "WriteCounts" >> beam.io.WriteToText(str(out_dir / "counts")))
    kept = [json.loads(line) for path in sorted(out_dir.glob("kept*")) for line in path.read_text().splitlines()]
    totals = Counter()
    for path in out_dir.glob("counts*"):
        for line in path.read_text().splitlines():
            key, n = json.loads(line)
            totals[key] += n
    return kept, totals


IN_MEMORY = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
TWO_PROCESSES = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


@pytest.fixture(scope="module")
def cap_runs(tmp_path_factory):
    candidates = make_candidates()
    shuffled = list(candidates)
    random.Random(1).shuffle(shuffled)
    runs = {}
    for name, data, args in [("ordered", candidates, IN_MEMORY), ("shuffled", shuffled, IN_MEMORY),
                             ("two_workers", shuffled, TWO_PROCESSES)]:
        runs[name] = run_stage(lambda: CapPerQuery(CAP, SEED), data, tmp_path_factory.mktemp(name), args)
    # As local builds run it: the held candidates and the rank partials wait in spill files.
    spill_dir = tmp_path_factory.mktemp("spill")
    runs["two_workers_spilled"] = run_stage(lambda: CapPerQuery(CAP, SEED, spill_dir=str(spill_dir)), shuffled,
                                            tmp_path_factory.mktemp("spilled"), TWO_PROCESSES)
    runs["spill_files"] = sorted(spill_dir.iterdir())
    return candidates, runs


def selected_by_uid(kept):
    return {c["uid"]: c["selected_by"] for c in kept}


def test_cap_is_exact(cap_runs):
    candidates, runs = cap_runs
    kept, counts = runs["ordered"]
    per_query = Counter(q for c in kept for q in c["selected_by"])
    assert per_query[0] == CAP  # matched by 3x the cap: exactly the cap selected
    assert per_query[1] == len([c for c in candidates if 1 in c["matches"]])  # under the cap: all
    assert per_query[2] == CAP
    assert len(kept) + counts["drop_cap"] == len(candidates)
    assert counts["drop_cap"] > 0
    assert all(set(c["selected_by"]) <= set(c["matches"]) for c in kept)


def test_cap_matches_the_reference_and_picks_the_lowest_hashes(cap_runs):
    candidates, runs = cap_runs
    assert selected_by_uid(runs["ordered"][0]) == select_per_query(candidates, CAP, SEED)
    ranked = sorted(cap_rank(SEED, 0, c["uid"]) for c in candidates if 0 in c["matches"])
    chosen = sorted(cap_rank(SEED, 0, c["uid"]) for c in runs["ordered"][0] if 0 in c["selected_by"])
    assert chosen == ranked[:CAP]


def test_cap_is_independent_of_order_and_workers(cap_runs):
    _, runs = cap_runs
    reference = selected_by_uid(runs["ordered"][0])
    assert selected_by_uid(runs["shuffled"][0]) == reference
    assert selected_by_uid(runs["two_workers"][0]) == reference
    assert runs["two_workers"][1] == runs["ordered"][1]


def test_cap_over_spilled_shuffles_keeps_the_same_candidates(cap_runs):
    """Local builds shuffle references to spilled batches and rank partials: same result, same
    counts, and the spill files were really used (written by both workers' bundles)."""
    candidates, runs = cap_runs
    kept, counts = runs["two_workers_spilled"]
    assert selected_by_uid(kept) == select_per_query(candidates, CAP, SEED)
    assert sorted(kept, key=lambda c: c["uid"]) == sorted(runs["two_workers"][0], key=lambda c: c["uid"])
    assert counts == runs["ordered"][1]
    assert len(runs["spill_files"]) >= 2 and all(path.stat().st_size > 0 for path in runs["spill_files"])


def test_seed_changes_the_choice_not_the_count():
    candidates = make_candidates()
    first, second = select_per_query(candidates, CAP, 1), select_per_query(candidates, CAP, 2)
    assert first != second
    assert Counter(q for ids in first.values() for q in ids) == Counter(q for ids in second.values() for q in ids)


def test_dedup_keeps_one_survivor_whatever_the_order(tmp_path):
    base = new_candidate("https://a.com/x.jpg", "a cat", source="b.warc@10")
    earlier = dict(base, source="a.warc@5", matches=[])
    searched = dict(base, source="c.search", matches=[4])
    other = new_candidate("https://a.com/y.jpg", "a dog", source="z")
    data = [base, searched, earlier, other]
    kept, counts = run_stage(DedupByUid, data, tmp_path / "one", IN_MEMORY)
    kept_reversed, _ = run_stage(DedupByUid, list(reversed(data)), tmp_path / "two", IN_MEMORY)
    assert counts["drop_duplicate"] == 2
    by_uid = {c["uid"]: c for c in kept}
    assert by_uid == {c["uid"]: c for c in kept_reversed}
    assert by_uid[base["uid"]]["source"] == "a.warc@5"
    assert by_uid[base["uid"]]["matches"] == [4]  # the search source's query is not lost
    assert merge_duplicates(earlier, searched) == merge_duplicates(searched, earlier)


def test_dedup_over_a_spilled_shuffle_keeps_the_same_survivors(tmp_path):
    """Two worker processes, duplicates spread over many small batches, the shuffle carrying
    references to spilled batches (as local builds run it): the survivors and counts of the
    in-memory run."""
    rng = random.Random(3)
    data = []
    for i in range(300):
        candidate = new_candidate(f"https://a.com/{i % 120}.jpg", f"caption {i % 120}", source=f"s{rng.randrange(5)}@{i}")
        candidate["matches"] = [i % 4] if i % 7 == 0 else []
        data.append(candidate)
    rng.shuffle(data)
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    plain, plain_counts = run_stage(lambda: DedupByUid(buckets=8), data, tmp_path / "plain", IN_MEMORY)
    spilled, spilled_counts = run_stage(lambda: DedupByUid(buckets=8, max_held=40, spill_dir=str(spill_dir)), data,
                                        tmp_path / "spilled", TWO_PROCESSES)
    assert len(plain) == 120
    assert sorted(spilled, key=lambda c: c["uid"]) == sorted(plain, key=lambda c: c["uid"])
    assert spilled_counts == plain_counts and spilled_counts["drop_duplicate"] == 180
    assert any(path.stat().st_size for path in spill_dir.iterdir())


def test_counts_summary_lists_every_reason():
    summary = counts_summary({"input": 10, "kept": 4, "drop_cap": 6, "files_read": 2, "drop_license": 0})
    assert summary["input"] == 10 and summary["kept"] == 4
    assert summary["drops"]["drop_cap"] == 6 and summary["drops"]["drop_filename"] == 0
    assert summary["flow"] == {"files_read": 2}


def test_rank_is_splitmix64_and_differs_per_query():
    from wit.pipeline.cap import mix64

    assert mix64(0) == 0xE220A8397B1DCDAF  # splitmix64's published first output: same on every machine
    uids = [c["uid"] for c in make_candidates()]
    order_q0 = sorted(uids, key=lambda uid: cap_rank(SEED, 0, uid))
    order_q1 = sorted(uids, key=lambda uid: cap_rank(SEED, 1, uid))
    assert order_q0 != order_q1 and set(order_q0[:CAP]) != set(order_q1[:CAP])
