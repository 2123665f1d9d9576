"""The Beam composite SearchCommons on the DirectRunner against the local api.php stand-in."""

from __future__ import annotations

import pytest

from fake_mediawiki import FakeCommons, ServerThread, make_file, query_files
from wit.pipeline.sources.commons.config import SearchConfig
from wit.pipeline.sources.commons.licenses import parse_license_list

beam = pytest.importorskip("apache_beam")


def run_pipeline(config: SearchConfig, queries, out_dir, mode: str):
    """Runs the composite, writes each output as JSON lines, reads them back."""
    import json

    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    from wit.pipeline.search import SearchCommons, WriteSearchOutcomes

    options = PipelineOptions(flags=[], runner="DirectRunner", direct_running_mode=mode)
    pipeline = beam.Pipeline(options=options)
    (out_dir / "progress").mkdir()
    outputs = pipeline | SearchCommons(config, queries, progress_dir=str(out_dir / "progress"))
    _ = outputs | "WriteOutcomes" >> WriteSearchOutcomes(str(out_dir / "OUT"))
    for name in ("candidates", "counts", "outcomes", "summary"):
        (outputs[name]
         | f"Json{name}" >> beam.Map(json.dumps, sort_keys=True)
         | f"Write{name}" >> beam.io.WriteToText(str(out_dir / name), shard_name_template=""))
    result = pipeline.run()
    result.wait_until_finish()
    collected = {
        name: [json.loads(line) for line in (out_dir / name).read_text().splitlines()]
        for name in ("candidates", "counts", "outcomes", "summary")
    }
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("search_commons"))["counters"]
    }
    from wit.pipeline.progress import read_progress

    collected["progress"] = read_progress(str(out_dir / "progress"))
    return collected, counters


def test_query_chunks_cover_the_list_with_stable_ids(tmp_path):
    from wit.pipeline.search import query_chunk

    path = tmp_path / "q.txt"
    path.write_text("".join(f"query {i}\n" for i in range(2500)), encoding="utf-8")
    chunks = [query_chunk(start, str(path), 1000) for start in range(0, 2500, 1000)]
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 500]
    flat = [pair for chunk in chunks for pair in chunk]
    assert flat == [(i, f"query {i}") for i in range(2500)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])  # multi_processing: DoFns pickled into workers
def test_search_commons_composite_emits_merged_candidates_outcomes_and_counts(tmp_path, mode):
    shared_file = make_file("Fox and cat", description={"en": "A fox and a cat", "_type": "lang"})
    corpus = {
        "fox": query_files("fox", 5) + [shared_file],
        "cat": [shared_file] + query_files("cat", 2),
        "owl": query_files("owl", 3, license_name="CC BY-NC 4.0"),
    }
    fake = FakeCommons(corpus=corpus, faults={"dead": ["always:500"], "cat": ["maxlag"]}, retry_after="0")
    queries_file = tmp_path / "queries.txt"
    queries_file.write_text("fox\ncat\nowl\ndead\nnothing\n", encoding="utf-8")
    with ServerThread(fake) as server:
        config = SearchConfig(endpoint=server.url, contact="tests@example.org", page_size=2, per_query_cap=100,
                                 requests_per_second=100.0, timeout_s=2.0, max_attempts=2, backoff_base_s=0.01,
                                 licenses=parse_license_list("CC BY-SA,CC0"), batch_size=2)
        collected, counters = run_pipeline(config, str(queries_file), tmp_path, mode)

    candidates = collected["candidates"]
    collected["counts"] = [tuple(pair) for pair in collected["counts"]]
    by_text = {c["text"]: c for c in candidates}
    assert len(candidates) == len(by_text) == 5 + 2 + 1  # the shared file once
    assert by_text["A fox and a cat"]["matches"] == [0, 1]  # found by both queries
    assert by_text["A fox number 0 & friends"]["matches"] == [0]
    assert all(c["meta"]["license"] == "CC BY-SA 4.0" for c in candidates)

    outcomes = {r["query"]: r for r in collected["outcomes"]}
    assert sorted(outcomes) == ["cat", "dead", "fox", "nothing", "owl"]
    assert {q: r["outcome"] for q, r in outcomes.items()} == {
        "fox": "exhausted", "cat": "exhausted", "owl": "exhausted", "dead": "failed", "nothing": "exhausted"}
    assert outcomes["dead"]["reason"] == "http_500"
    assert outcomes["owl"]["drops"] == {"drop_license": 3}

    [summary] = collected["summary"]
    assert summary["queries"] == 5
    assert summary["outcomes"] == {"capped": 0, "exhausted": 4, "results": 0, "failed": 1}
    assert summary["candidates"] == 6 + 3  # before merging: the shared file counted per query
    assert summary["drops"] == {"drop_license": 3}
    assert summary["requests"] == len(fake.hits)

    assert counters["queries"] == 5
    assert counters["outcome_failed"] == 1 and counters["failed_http_500"] == 1
    assert counters["drop_license"] == 3
    assert counters["http_maxlag"] == 1
    assert counters["requests"] == len(fake.hits)

    totals = {}
    for key, n in collected["counts"]:
        totals[key] = totals.get(key, 0) + n
    # input counts every candidate the source emitted plus every licence drop, so the build's
    # input = kept + drops still holds with drop_license among the drops.
    assert totals["input"] == len(candidates) + 3 and totals["drop_license"] == 3
    assert totals["search_queries"] == 5 and totals["search_outcome_failed"] == 1
    assert totals["search_failed_http_500"] == 1 and totals["search_requests"] == len(fake.hits)

    import json

    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "OUT" / "counts" / "search_queries.parquet").to_pylist()
    assert sorted(row["query"] for row in table) == ["cat", "dead", "fox", "nothing", "owl"]
    owl = next(row for row in table if row["query"] == "owl")
    assert json.loads(owl["drops"]) == {"drop_license": 3}
    written_summary = json.loads((tmp_path / "OUT" / "counts" / "search_summary.json").read_text())
    assert written_summary == summary
    progress = collected["progress"]  # what the local progress line showed last
    assert (progress["search_queries"], progress["drop_license"]) == (5, 3)
    assert progress["input"] == summary["candidates"] + 3
